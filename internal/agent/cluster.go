package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
)

// ClusterOptions configure the cluster agent.
type ClusterOptions struct {
	Cluster *clusterscan.Cluster
	// Engine evaluates the workload policies (audit k8s's engine).
	Engine *policy.Engine
	// Settle is how long a change waits for more before the policies are
	// re-evaluated (default 2s); Resync re-sends the whole state this
	// often even without changes (default 1h).
	Settle, Resync time.Duration
	Version        string
	Logger         *slog.Logger
	Now            func() time.Time
}

// ClusterStats count what the cluster agent did.
type ClusterStats struct {
	Changes     uint64 `json:"changes"`
	Evaluations uint64 `json:"evaluations"`
	Objects     int    `json:"objects"`
}

// RunCluster keeps the server's picture of a cluster current: informers
// watch (never poll) namespaces and every kind audit k8s evaluates; a
// change re-evaluates the policies over the informers' caches once the
// changes settle, and the report is sent when it differs from the last.
// Watches that expire (410 Gone) or break (an API server restart) are
// re-listed by the informers themselves.
func RunCluster(ctx context.Context, c *Conn, o ClusterOptions) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.Resync <= 0 {
		o.Resync = time.Hour
	}
	log := o.Logger
	clusterID, err := o.Cluster.ID(ctx)
	if err != nil {
		return fmt.Errorf("cluster agent: %w", err)
	}
	dyn, err := dynamic.NewForConfig(o.Cluster.Config)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	f := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	changed := make(chan struct{}, 1)
	var changes, evals atomic.Uint64
	onChange := func(any) {
		changes.Add(1)
		trigger(changed)
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: onChange, UpdateFunc: func(_, n any) { onChange(n) }, DeleteFunc: onChange}
	l := &informerLister{stores: map[string]cache.Store{}}
	for _, k := range append([]clusterscan.Kind{{Kind: "Namespace", Resource: namespaceGVR}}, clusterscan.Kinds()...) {
		inf := f.ForResource(k.Resource).Informer()
		// The caches keep what the policies read: managed fields are
		// dropped as objects arrive (they are most of a small object).
		if err := inf.SetTransform(func(obj any) (any, error) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				u.SetManagedFields(nil)
			}
			return obj, nil
		}); err != nil {
			return fmt.Errorf("informer for %s: %w", k.Kind, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("informer for %s: %w", k.Kind, err)
		}
		l.stores[k.Kind] = inf.GetStore()
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	start := time.Now()
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cluster agent: the cache of %v did not sync", typ)
		}
	}
	log.Info("cluster agent synced", "cluster", o.Cluster.Name, "id", clusterID, "in", time.Since(start).Round(time.Millisecond))
	stats := func() map[string]any {
		return map[string]any{"cluster": ClusterStats{Changes: changes.Load(), Evaluations: evals.Load(), Objects: l.count()}}
	}
	go c.Run(ctx, stats)

	policies := o.Engine.Policies()
	evaluate := func() {
		items, listErr := clusterscan.Scan(ctx, clusterscan.Options{Lister: l, Evaluator: o.Engine, Cluster: clusterID, Logger: log})
		if ctx.Err() != nil {
			return
		}
		if items == nil && listErr != nil {
			log.Error("cluster agent: evaluation failed", "err", listErr)
			return
		}
		evals.Add(1)
		rep := policyreport.New(o.Version, o.Now(), policies)
		rep.Cluster, rep.ClusterID = o.Cluster.Name, clusterID
		v := policy.PSSLatestKnown()
		rep.PSSVersion = v.String()
		for _, it := range items {
			rep.Add(it.Result, it.Resource)
		}
		rep.Sort()
		// Every object of the cluster is in it (no namespace filter):
		// the server drops the objects that are gone.
		rep.Complete = listErr == nil
		for _, e := range unjoin(listErr) {
			rep.LoadErrors = append(rep.LoadErrors, e.Error())
		}
		// The hash covers what the report is made of (each object's
		// result and resource), not its times; both are streamed.
		hash, err := StreamHash(struct {
			Items  []clusterscan.Item
			Errors []string
		}{items, rep.LoadErrors})
		if err != nil {
			log.Error("hashing the cluster report", "err", err)
			return
		}
		if err := c.SendStream(ctx, "k8s-policy/"+clusterID, hash, func(w io.Writer) error { return json.NewEncoder(w).Encode(rep) }); err != nil {
			log.Error("queueing the cluster report", "err", err)
		}
	}
	evaluate()
	resync := time.NewTicker(o.Resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			evaluate()
		case <-changed:
			if !sleep(ctx, o.Settle) {
				return nil
			}
			drain(changed)
			evaluate()
		}
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// informerLister is a clusterscan.Lister over informer caches. Objects
// are copied: the scan prepares them in place.
type informerLister struct {
	stores map[string]cache.Store
}

var (
	_ clusterscan.Lister          = (*informerLister)(nil)
	_ clusterscan.NamespaceGetter = (*informerLister)(nil)
)

func (l *informerLister) count() int {
	n := 0
	for _, s := range l.stores {
		n += len(s.ListKeys())
	}
	return n
}

func (l *informerLister) List(ctx context.Context, k clusterscan.Kind, namespace string, fn func(clusterscan.Object) error) error {
	s := l.stores[k.Kind]
	if s == nil {
		return fmt.Errorf("no informer for %s", k.Kind)
	}
	for _, o := range s.List() {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || (namespace != "" && u.GetNamespace() != namespace) {
			continue
		}
		if err := fn(u.DeepCopy().Object); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (l *informerLister) GetNamespace(_ context.Context, name string) (clusterscan.Object, error) {
	o, ok, err := l.stores["Namespace"].GetByKey(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("namespace %s not found", name)
	}
	return o.(*unstructured.Unstructured).DeepCopy().Object, nil
}
