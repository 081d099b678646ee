package admission

import (
	"context"
	"sync/atomic"

	"github.com/bulwarkdev/bulwark/internal/policy"
)

// Engine is the webhook's policy engine, replaceable while it serves: when
// the policy config changes (the server's, followed by
// internal/remoteconfig) a new *policy.Engine is built and swapped in;
// reviews in flight finish on the one they started with. Safe for
// concurrent use.
type Engine struct {
	p atomic.Pointer[policy.Engine]
}

var (
	_ NamespacedEvaluator = (*Engine)(nil)
	_ PodSecurityResolver = (*Engine)(nil)
)

// NewEngine serves e until Swap.
func NewEngine(e *policy.Engine) *Engine {
	s := &Engine{}
	s.p.Store(e)
	return s
}

// Swap puts e in force for the reviews that start after it returns.
func (s *Engine) Swap(e *policy.Engine) { s.p.Store(e) }

// Current is the engine in force.
func (s *Engine) Current() *policy.Engine { return s.p.Load() }

// EvaluateDocument implements Evaluator.
func (s *Engine) EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error) {
	return s.p.Load().EvaluateDocument(ctx, doc)
}

// EvaluateNamespaced implements NamespacedEvaluator.
func (s *Engine) EvaluateNamespaced(ctx context.Context, doc *policy.Document, ns policy.PSSNamespace) (policy.NamespacedResult, error) {
	return s.p.Load().EvaluateNamespaced(ctx, doc, ns)
}

// PodSecurityFor implements PodSecurityResolver.
func (s *Engine) PodSecurityFor(namespace string, labels map[string]string) (policy.PSSNamespace, bool, []error) {
	return s.p.Load().PodSecurityFor(namespace, labels)
}
