package clusterscan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
)

// Object is a decoded Kubernetes object.
type Object = map[string]any

// Lister lists the objects of one kind in a namespace ("" for all), calling
// fn for each; it pages through large lists itself. An error from fn stops
// the listing and is returned.
type Lister interface {
	List(ctx context.Context, k Kind, namespace string, fn func(Object) error) error
}

// Evaluator evaluates one object; *policy.Engine is one.
type Evaluator interface {
	Evaluate(ctx context.Context, obj map[string]any) (policy.Result, error)
}

// Options configure Scan.
type Options struct {
	Lister    Lister
	Evaluator Evaluator
	// Cluster names the cluster in resource ids (cluster/namespace/kind/name).
	Cluster string
	// Namespace restricts the listing; "" lists every namespace. The
	// policy config's namespace include/exclude lists apply on top (the
	// engine marks those objects excluded).
	Namespace string
	// Workers evaluate objects in parallel (default GOMAXPROCS).
	Workers int
	Logger  *slog.Logger
}

// Item is one evaluated object.
type Item struct {
	Result   policy.Result
	Resource model.Resource
}

// KindError says a kind could not be listed; the other kinds still were.
type KindError struct {
	Kind string
	Err  error
}

func (e *KindError) Error() string { return fmt.Sprintf("list %s: %v", e.Kind, e.Err) }
func (e *KindError) Unwrap() error { return e.Err }

// Scan lists every kind of Kinds and evaluates each object that is not
// owned by a listed controller. It returns the items in listing order and,
// joined, one *KindError per kind that could not be listed; a cancelled
// context or a failing evaluation stops it with an error.
func Scan(ctx context.Context, o Options) ([]Item, error) {
	if o.Lister == nil || o.Evaluator == nil {
		return nil, errors.New("cluster scan: no lister or no evaluator")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	type job struct {
		i   int
		obj Object
	}
	var (
		items   []Item
		mu      sync.Mutex
		evalErr error
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, workers*4)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				it, err := evaluate(ctx, o, j.obj)
				mu.Lock()
				if err != nil && evalErr == nil {
					evalErr = err
					cancel()
				}
				items[j.i] = it
				mu.Unlock()
			}
		}()
	}

	var listErrs []error
	n := 0
	for _, k := range kinds {
		count, skipped := 0, 0
		err := o.Lister.List(ctx, k, o.Namespace, func(obj Object) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if ownedByListed(obj, k.SkipOwnedBy) {
				skipped++
				return nil
			}
			prepare(obj, k)
			mu.Lock()
			items = append(items, Item{})
			mu.Unlock()
			jobs <- job{i: n, obj: obj}
			n++
			count++
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.WarnContext(ctx, "cannot list kind", "kind", k.Kind, "err", err)
			listErrs = append(listErrs, &KindError{Kind: k.Kind, Err: err})
			continue
		}
		log.DebugContext(ctx, "listed", "kind", k.Kind, "evaluated", count, "owned_by_controller", skipped)
	}
	close(jobs)
	wg.Wait()
	if evalErr != nil {
		return nil, evalErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cluster scan: %w", err)
	}
	return items, errors.Join(listErrs...)
}

func evaluate(ctx context.Context, o Options, obj Object) (Item, error) {
	res, err := o.Evaluator.Evaluate(ctx, obj)
	if err != nil {
		return Item{}, fmt.Errorf("evaluate %s %s/%s: %w", res.Kind, res.Namespace, res.Name, err)
	}
	md, _ := obj["metadata"].(map[string]any)
	uid, _ := md["uid"].(string)
	return Item{Result: res, Resource: policyreport.Resource(o.Cluster, res, map[string]string{"uid": uid})}, nil
}

// prepare sets the kind and apiVersion list items may lack and drops what
// no policy reads but costs conversion time (managedFields, status).
func prepare(obj Object, k Kind) {
	if s, _ := obj["kind"].(string); s == "" {
		obj["kind"] = k.Kind
	}
	if s, _ := obj["apiVersion"].(string); s == "" {
		obj["apiVersion"] = k.APIVersion()
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
	delete(obj, "status")
}

// ownedByListed reports whether obj's controller is one of kinds.
func ownedByListed(obj Object, kinds []string) bool {
	if len(kinds) == 0 {
		return false
	}
	md, _ := obj["metadata"].(map[string]any)
	refs, _ := md["ownerReferences"].([]any)
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		if c, _ := ref["controller"].(bool); !c {
			continue
		}
		if k, _ := ref["kind"].(string); slices.Contains(kinds, k) {
			return true
		}
	}
	return false
}

// SliceLister lists decoded objects held in memory (manifests), by kind
// and namespace; it is the Lister of tests and of offline snapshots.
type SliceLister []Object

// List implements Lister.
func (s SliceLister) List(ctx context.Context, k Kind, namespace string, fn func(Object) error) error {
	for _, obj := range s {
		if kind, _ := obj["kind"].(string); kind != k.Kind {
			continue
		}
		if av, _ := obj["apiVersion"].(string); av != "" && av != k.APIVersion() {
			continue
		}
		md, _ := obj["metadata"].(map[string]any)
		if ns, _ := md["namespace"].(string); namespace != "" && ns != namespace {
			continue
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
	return ctx.Err()
}
