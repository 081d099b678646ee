package clusterscan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
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

// NamespacedEvaluator is an Evaluator that also applies namespaces' Pod
// Security labels as the API server does; *policy.Engine is one. Scan then
// lists the namespaces first.
type NamespacedEvaluator interface {
	Evaluator
	PodSecurityFor(namespace string, labels map[string]string) (policy.PSSNamespace, bool, []error)
	EvaluateNamespaced(ctx context.Context, doc *policy.Document, ns policy.PSSNamespace) (policy.NamespacedResult, error)
}

var _ NamespacedEvaluator = (*policy.Engine)(nil)

// namespaceKind is listed before the others, for the Pod Security labels.
var namespaceKind = Kind{Kind: "Namespace", Resource: core("namespaces")}

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
	// Prefetch, when set, is called once with every image the listed
	// objects run (sorted, unique) after the listing and before any
	// evaluation: audit k8s fetches the server's verdicts for
	// BW-K8S-IMAGE-VULNS in one batch there, so the evaluations read them
	// from memory. Its error is logged; the scan goes on (the images are
	// then unknown to the policy).
	Prefetch func(ctx context.Context, images []string) error

	podSecurity map[string]policy.PSSNamespace // by namespace, set by Scan
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
	if ne, ok := o.Evaluator.(NamespacedEvaluator); ok {
		pod, err := namespacePolicies(ctx, o, ne, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("cluster scan: %w", ctx.Err())
			}
			// Not a load error: a user with rights in one namespace only
			// may not read Namespace objects, and the audit of what it may
			// list stands. The PSS policies then apply with their
			// configured modes (no result has pod_security).
			log.WarnContext(ctx, "cannot read namespaces: their Pod Security labels are not applied", "err", err)
		}
		o.podSecurity = pod
	}
	n := 0
	var held []Object // with Prefetch: evaluated after the listing
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
			count++
			if o.Prefetch != nil {
				held = append(held, obj)
				return nil
			}
			mu.Lock()
			items = append(items, Item{})
			mu.Unlock()
			jobs <- job{i: n, obj: obj}
			n++
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
	if o.Prefetch != nil && ctx.Err() == nil {
		seen := map[string]bool{}
		var images []string
		for _, obj := range held {
			for _, img := range strings.Split(podImages(obj), ",") {
				if img != "" && !seen[img] {
					seen[img] = true
					images = append(images, img)
				}
			}
		}
		slices.Sort(images)
		if err := o.Prefetch(ctx, images); err != nil {
			log.WarnContext(ctx, "image verdicts not fetched: BW-K8S-IMAGE-VULNS cannot judge the images", "images", len(images), "err", err)
		}
		mu.Lock()
		items = make([]Item, len(held))
		mu.Unlock()
		for i, obj := range held {
			if ctx.Err() != nil {
				break
			}
			jobs <- job{i: i, obj: obj}
		}
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

// namespacePolicies lists the namespaces (the one of o.Namespace, or all)
// and returns the Pod Security policy of each that has one.
func namespacePolicies(ctx context.Context, o Options, ne NamespacedEvaluator, log *slog.Logger) (map[string]policy.PSSNamespace, error) {
	out := map[string]policy.PSSNamespace{}
	add := func(obj Object) error {
		md, _ := obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		if o.Namespace != "" && name != o.Namespace {
			return nil
		}
		raw, _ := md["labels"].(map[string]any)
		labels := make(map[string]string, len(raw))
		for k, v := range raw {
			if s, ok := v.(string); ok {
				labels[k] = s
			}
		}
		p, labelled, errs := ne.PodSecurityFor(name, labels)
		for _, err := range errs {
			log.WarnContext(ctx, "invalid Pod Security label; applied as the API server does", "namespace", name, "err", err)
		}
		if labelled {
			out[name] = p
		}
		return nil
	}
	if g, ok := o.Lister.(NamespaceGetter); ok && o.Namespace != "" {
		// One namespace: get it, rather than list every one.
		obj, err := g.GetNamespace(ctx, o.Namespace)
		if err != nil {
			return out, err
		}
		return out, add(obj)
	}
	return out, o.Lister.List(ctx, namespaceKind, "", add)
}

// NamespaceGetter is a Lister that can also get one Namespace object (for
// its labels): Scan of one namespace then reads only that one.
type NamespaceGetter interface {
	GetNamespace(ctx context.Context, name string) (Object, error)
}

// GetNamespace implements NamespaceGetter.
func (s SliceLister) GetNamespace(ctx context.Context, name string) (Object, error) {
	for _, obj := range s {
		md, _ := obj["metadata"].(map[string]any)
		if kind, _ := obj["kind"].(string); kind == "Namespace" && md["name"] == name {
			return obj, nil
		}
	}
	return nil, fmt.Errorf("namespace %q not found", name)
}

func evaluate(ctx context.Context, o Options, obj Object) (Item, error) {
	res, err := evaluateObject(ctx, o, obj)
	if err != nil {
		return Item{}, fmt.Errorf("evaluate %s %s/%s: %w", res.Kind, res.Namespace, res.Name, err)
	}
	md, _ := obj["metadata"].(map[string]any)
	uid, _ := md["uid"].(string)
	return Item{Result: res, Resource: policyreport.Resource(o.Cluster, res, map[string]string{"uid": uid, "images": podImages(obj)})}, nil
}

// podImages lists the images an object's pods run (its containers, init
// and ephemeral containers; a template's for controllers), sorted and
// comma-separated: the server links the workload to them.
func podImages(obj Object) string {
	spec, _ := obj["spec"].(map[string]any)
	for _, path := range [][]string{{"jobTemplate", "spec", "template", "spec"}, {"template", "spec"}} {
		cur := spec
		for _, k := range path {
			cur, _ = cur[k].(map[string]any)
		}
		if cur != nil {
			spec = cur
			break
		}
	}
	seen := map[string]bool{}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		cs, _ := spec[field].([]any)
		for _, c := range cs {
			m, _ := c.(map[string]any)
			if img, _ := m["image"].(string); img != "" && len(seen) < 64 && !strings.Contains(img, ",") {
				seen[img] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for img := range seen {
		out = append(out, img)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// evaluateObject evaluates obj under its namespace's Pod Security policy
// when it has one, else as configured.
func evaluateObject(ctx context.Context, o Options, obj Object) (policy.Result, error) {
	md, _ := obj["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	p, ok := o.podSecurity[ns]
	if !ok {
		return o.Evaluator.Evaluate(ctx, obj)
	}
	doc, err := policy.NewDocument(obj)
	if err != nil {
		kind, _ := obj["kind"].(string)
		name, _ := md["name"].(string)
		return policy.Result{Kind: kind, Namespace: ns, Name: name}, fmt.Errorf("convert to policy input: %w", err)
	}
	res, err := o.Evaluator.(NamespacedEvaluator).EvaluateNamespaced(ctx, doc, p)
	return res.Result, err
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
