package admission

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/policy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// NamespacePolicies gives a namespace's Pod Security policy. The handler
// asks on every review, so an implementation answers from memory;
// NamespaceCache is one.
type NamespacePolicies interface {
	// PodSecurity returns the namespace's policy; false when it has none
	// (no pod-security.kubernetes.io labels, or an unknown namespace): the
	// PSS policies then apply with their configured modes.
	PodSecurity(namespace string) (policy.PSSNamespace, bool)
}

// PodSecurityResolver turns a namespace's labels into its policy, the
// config's overrides applied; *policy.Engine is one.
type PodSecurityResolver interface {
	PodSecurityFor(namespace string, labels map[string]string) (policy.PSSNamespace, bool, []error)
}

var _ PodSecurityResolver = (*policy.Engine)(nil)

// NamespaceCache holds every namespace's Pod Security policy, parsed when
// the namespace is added or changes (not per review). It is safe for
// concurrent use.
type NamespaceCache struct {
	resolve PodSecurityResolver
	log     *slog.Logger

	mu       sync.RWMutex
	policies map[string]policy.PSSNamespace
	labels   map[string]map[string]string // as last Set, for Resync
}

var _ NamespacePolicies = (*NamespaceCache)(nil)

// NewNamespaceCache returns an empty cache; Set or Watch fill it.
func NewNamespaceCache(r PodSecurityResolver, log *slog.Logger) *NamespaceCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NamespaceCache{resolve: r, log: log, policies: map[string]policy.PSSNamespace{}, labels: map[string]map[string]string{}}
}

// PodSecurity implements NamespacePolicies.
func (c *NamespaceCache) PodSecurity(namespace string) (policy.PSSNamespace, bool) {
	c.mu.RLock()
	p, ok := c.policies[namespace]
	c.mu.RUnlock()
	return p, ok
}

// Set records a namespace's labels. Invalid values are logged and applied
// as the API server applies them (an invalid enforce level as restricted).
func (c *NamespaceCache) Set(namespace string, labels map[string]string) {
	p, labelled, errs := c.resolve.PodSecurityFor(namespace, labels)
	for _, err := range errs {
		c.log.Warn("invalid Pod Security label; applied as the API server does", "namespace", namespace, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.labels[namespace] = labels
	if labelled {
		c.policies[namespace] = p
	} else {
		delete(c.policies, namespace)
	}
}

// Resync resolves every namespace's labels again: after the policy config
// changed (its pod_security.namespaces overrides), without waiting for the
// namespaces to change.
func (c *NamespaceCache) Resync() {
	c.mu.RLock()
	all := make(map[string]map[string]string, len(c.labels))
	for ns, l := range c.labels {
		all[ns] = l
	}
	c.mu.RUnlock()
	for ns, l := range all {
		c.Set(ns, l)
	}
}

// Delete forgets a namespace.
func (c *NamespaceCache) Delete(namespace string) {
	c.mu.Lock()
	delete(c.policies, namespace)
	delete(c.labels, namespace)
	c.mu.Unlock()
}

// namespacesResource is what Watch lists and watches.
var namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// Watch keeps the cache in step with the cluster's namespaces, through an
// informer on their metadata (labels are metadata: the API server sends
// no more), until ctx ends. It returns once the first listing is in, or
// an error when it is not within timeout (RBAC: list and watch on
// namespaces).
func (c *NamespaceCache) Watch(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "bulwark-admission"
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("namespace watch: kubernetes client: %w", err)
	}
	ri := client.Resource(namespacesResource)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	// A bare informer over the metadata client: metadatainformer's
	// factory would link every typed informer of client-go.
	inf := cache.NewSharedIndexInformer(lw, &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	set := func(obj any) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			c.Set(m.Name, m.Labels)
		}
	}
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj any) { set(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				c.Delete(m.Name)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("namespace watch: %w", err)
	}
	go inf.Run(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		return fmt.Errorf("namespace watch: namespaces not listed within %s (it needs list and watch on namespaces)", timeout)
	}
	return nil
}

// RESTConfig loads a kubeconfig as kubectl does ($KUBECONFIG,
// ~/.kube/config, then the pod's service account when in a cluster);
// kubeconfig and context override the file and its current context.
func RESTConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}
