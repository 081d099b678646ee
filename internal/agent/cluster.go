package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/memtrim"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
)

// ClusterOptions configure the cluster agent.
type ClusterOptions struct {
	Cluster *clusterscan.Cluster
	// Engine evaluates the workload policies (audit k8s's engine), used
	// as is. When nil the agent builds its own from the server's policy
	// config (Policies), else Config (else the defaults), fed with the
	// server's image verdicts (Verdicts) for BW-K8S-IMAGE-VULNS.
	Engine *policy.Engine
	Config *policy.Config
	// Policies follows the server's policy config
	// (Conn.PolicyConfigWatcher): a new version swaps the engine and every
	// object is re-evaluated.
	Policies *remoteconfig.Watcher
	// Verdicts answers the server's image verdicts (the agent's
	// client); VerdictInterval re-asks every held verdict this often
	// (default 10m; unknown images every minute, all of them when the
	// server's DB version changes).
	Verdicts        ImageVerdictSource
	VerdictInterval time.Duration
	// Settle is how long a change waits for more before the changed
	// objects are re-evaluated (default 2s); Resync re-sends the whole
	// state this often even without changes (default 1h).
	Settle, Resync time.Duration
	// Chunk is how many objects one message of a full resync holds
	// (default 500): the agent never holds the whole cluster's results.
	Chunk   int
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// ClusterStats count what the cluster agent did.
type ClusterStats struct {
	Changes     uint64 `json:"changes"`
	Evaluations uint64 `json:"evaluations"`
	Objects     int    `json:"objects"`
	Resyncs     uint64 `json:"resyncs"`
	Upserts     uint64 `json:"upserts"`
	Deletes     uint64 `json:"deletes"`
	// Unchanged counts re-evaluated objects whose content hash had not
	// changed: not sent.
	Unchanged   uint64 `json:"unchanged"`
	WatchErrors uint64 `json:"watch_errors"`
}

// RunCluster keeps the server's picture of a cluster current with
// informers (watch, never poll) over namespaces and every kind audit k8s
// evaluates. It sends deltas (policyreport.Delta): a full resync once the
// caches have synced, after a watch had to relist (410 Gone, an API server
// restart) and every Resync; in between, once changes settle, only the
// objects that changed are re-evaluated and only those whose content hash
// differs from the last sent are queued, with the objects that are gone.
// Each workload carries the image digests its pods' containers run.
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
	if o.Chunk <= 0 {
		o.Chunk = 500
	}
	clusterID, err := o.Cluster.ID(ctx)
	if err != nil {
		return fmt.Errorf("cluster agent: %w", err)
	}
	cs, err := startClusterState(ctx, c, o, clusterID)
	if err != nil {
		return err
	}
	cfg := rest.CopyConfig(o.Cluster.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &apiReach{next: rt, cs: cs} })
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	f := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	kinds := append([]clusterscan.Kind{{Kind: "Namespace", Resource: namespaceGVR}}, clusterscan.Kinds()...)
	if ok, err := canListNodes(ctx, dyn); ok {
		kinds = append(kinds, clusterscan.Kind{Kind: nodeKind, Resource: nodeGVR})
	} else {
		o.Logger.Warn("cluster agent: cannot list nodes; the cluster's nodes are left out of the inventory (give the agent's ClusterRole list and watch on nodes: bulwark deploy manifests does)", "err", err)
	}
	for _, k := range kinds {
		inf := f.ForResource(k.Resource).Informer()
		if err := cs.watch(k.Kind, inf); err != nil {
			return err
		}
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
	o.Logger.Info("cluster agent synced", "cluster", o.Cluster.Name, "id", clusterID, "objects", cs.lister.count(), "in", time.Since(start).Round(time.Millisecond))
	go c.Run(ctx, func() map[string]any { return map[string]any{"cluster": cs.stats()} })
	return cs.loop(ctx)
}

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// apiReach watches the informers' requests for the API server going away
// and coming back (a restart): the reflectors retry a refused connection
// quietly, so this is where the agent says so, and where a full resync is
// asked for once the server answers again.
type apiReach struct {
	next http.RoundTripper
	cs   *clusterState
	down atomic.Bool
}

func (a *apiReach) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	switch {
	case err != nil && r.Context().Err() == nil:
		if !a.down.Swap(true) {
			a.cs.log.Warn("cluster agent: the API server is unreachable (restarting?); the informers retry, a full resync follows when it is back", "err", err)
		}
	case err == nil && a.down.Load():
		a.down.Store(false)
		a.cs.log.Info("cluster agent: the API server answers again; relisting where watches expired, then a full resync")
		a.cs.mu.Lock()
		a.cs.needResync = "API server back after being unreachable"
		a.cs.mu.Unlock()
		trigger(a.cs.changed)
	}
	return resp, err
}

// clusterState is the cluster agent's memory between messages: the
// informers' caches, the objects changed since the last message, and the
// content hash last queued per object id.
type clusterState struct {
	c         *Conn
	o         ClusterOptions
	log       *slog.Logger
	clusterID string
	lister    *informerLister
	engine    atomic.Pointer[clusterEngine]
	verdicts  *verdictCache // nil: no verdicts (the policy skips)
	trim      *memtrim.Releaser

	mu         sync.Mutex
	dirty      map[objKey]bool
	dirtyNS    map[string]bool
	allDirty   bool   // every object is re-evaluated at the next delta
	needResync string // why a full resync is due ("" none)
	// relistLogged: when a kind's relist was last logged.
	relistLogged map[string]time.Time

	changed chan struct{}
	hashes  map[string][32]byte // by resource id: what the server holds
	seq     uint64
	refused bool // the credential is refused: nothing is queued

	st struct {
		changes, evals, resyncs, upserts, deletes, unchanged, watchErrors atomic.Uint64
	}
}

// objKey names a cached object: its kind and namespace/name store key.
type objKey struct{ kind, key string }

func newClusterState(c *Conn, o ClusterOptions, clusterID string) *clusterState {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Chunk <= 0 {
		o.Chunk = 500
	}
	cs := &clusterState{c: c, o: o, log: o.Logger, clusterID: clusterID, lister: &informerLister{stores: map[string]cache.Store{}, indexers: map[string]cache.Indexer{}},
		dirty: map[objKey]bool{}, dirtyNS: map[string]bool{}, needResync: "start", relistLogged: map[string]time.Time{},
		changed: make(chan struct{}, 1), hashes: map[string][32]byte{}, trim: memtrim.NewReleaser(o.Logger, 0, 0)}
	cs.setEngine(o.Engine)
	return cs
}

// startClusterState is the agent's state with its policy engine (the
// server's policy config, followed until ctx ends) and verdict cache.
func startClusterState(ctx context.Context, c *Conn, o ClusterOptions, clusterID string) (*clusterState, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var vc *verdictCache
	if o.Verdicts != nil && o.Engine == nil {
		vc = newVerdictCache(o.Verdicts, o.VerdictInterval, o.Logger)
	}
	given := o.Engine != nil
	var err error
	if o.Engine, err = startEngine(ctx, o, vc); err != nil {
		return nil, fmt.Errorf("cluster agent: %w", err)
	}
	cs := newClusterState(c, o, clusterID)
	if vc != nil {
		cs.verdicts = vc
		vc.onChange = func() {
			cs.log.Info("cluster agent: image verdicts changed on the server; re-evaluating")
			cs.markAll()
		}
	}
	if o.Policies != nil && !given {
		go cs.followPolicies(ctx, o.Policies)
	}
	return cs, nil
}

func (cs *clusterState) setEngine(e *policy.Engine) {
	cs.engine.Store(&clusterEngine{eng: e, policies: e.Policies()})
}

// markAll has every object re-evaluated at the next delta (a new policy
// config, changed verdicts); only those whose results changed are sent.
func (cs *clusterState) markAll() {
	cs.mu.Lock()
	cs.allDirty = true
	cs.mu.Unlock()
	trigger(cs.changed)
}

func (cs *clusterState) stats() ClusterStats {
	return ClusterStats{Changes: cs.st.changes.Load(), Evaluations: cs.st.evals.Load(), Objects: cs.lister.count(), Resyncs: cs.st.resyncs.Load(),
		Upserts: cs.st.upserts.Load(), Deletes: cs.st.deletes.Load(), Unchanged: cs.st.unchanged.Load(), WatchErrors: cs.st.watchErrors.Load()}
}

// controllerIndex indexes objects by their controller (Kind/ns/name):
// a workload's pods (and a Deployment's ReplicaSets, a CronJob's Jobs)
// are found without listing every pod.
const controllerIndex = "controller"

func controllerOf(obj any) (string, bool) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return "", false
	}
	for _, r := range u.GetOwnerReferences() {
		if r.Controller != nil && *r.Controller {
			return r.Kind + "/" + u.GetNamespace() + "/" + r.Name, true
		}
	}
	return "", false
}

// watch wires one kind's informer: the transform that slims what the
// cache keeps, the controller index, the change handler and the watch
// error handler.
func (cs *clusterState) watch(kind string, inf cache.SharedIndexInformer) error {
	if err := inf.SetTransform(slim(kind)); err != nil {
		return fmt.Errorf("informer for %s: %w", kind, err)
	}
	if err := inf.AddIndexers(cache.Indexers{controllerIndex: func(obj any) ([]string, error) {
		if k, ok := controllerOf(obj); ok {
			return []string{k}, nil
		}
		return nil, nil
	}}); err != nil {
		return fmt.Errorf("informer for %s: %w", kind, err)
	}
	on := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		cs.st.changes.Add(1)
		cs.markDirty(kind, u)
	}
	update := func(o, n any) {
		// An update that changes nothing (same resourceVersion) is the
		// informer replaying its cache after a relist: client-go relists a
		// watch that expired (410 Gone) by itself, without an error to
		// handle, so this is where the agent learns of it.
		ou, ok1 := o.(*unstructured.Unstructured)
		nu, ok2 := n.(*unstructured.Unstructured)
		if ok1 && ok2 && ou.GetResourceVersion() != "" && ou.GetResourceVersion() == nu.GetResourceVersion() {
			cs.relisted(kind)
			return
		}
		on(n)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: update, DeleteFunc: on}); err != nil {
		return fmt.Errorf("informer for %s: %w", kind, err)
	}
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		cs.st.watchErrors.Add(1)
		why := "watch failed (API server unreachable or restarting?)"
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			why = "watch expired (410 Gone: resourceVersion too old)"
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			why = "watch closed by the API server"
		}
		cs.log.Warn("cluster agent: "+why+"; relisting, then a full resync to the server", "kind", kind, "err", err)
		cs.mu.Lock()
		cs.needResync = kind + " " + why
		cs.mu.Unlock()
		trigger(cs.changed)
	}); err != nil {
		return fmt.Errorf("informer for %s: %w", kind, err)
	}
	cs.lister.stores[kind] = inf.GetStore()
	cs.lister.indexers[kind] = inf.GetIndexer()
	return nil
}

// relisted notes a kind's informer relisted (said once per kind a
// minute) and asks for a full resync: what changed while the watch was
// gone arrives as the relist's events, what was deleted in between only
// as the resync's end.
func (cs *clusterState) relisted(kind string) {
	cs.mu.Lock()
	now := time.Now()
	if now.Sub(cs.relistLogged[kind]) > time.Minute {
		cs.relistLogged[kind] = now
		cs.st.watchErrors.Add(1)
		cs.log.Warn("cluster agent: watch relisted (it expired — 410 Gone — or broke); a full resync follows", "kind", kind)
	}
	if cs.needResync == "" {
		cs.needResync = kind + " relisted"
	}
	cs.mu.Unlock()
	trigger(cs.changed)
}

// markDirty records a changed object, and the workload its pod belongs
// to (what it runs changed); a namespace's change makes every object in
// it dirty (its Pod Security labels).
func (cs *clusterState) markDirty(kind string, u *unstructured.Unstructured) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if kind == "Namespace" {
		cs.dirtyNS[u.GetName()] = true
	} else {
		cs.dirty[objKey{kind, storeKey(u.GetNamespace(), u.GetName())}] = true
	}
	// Up the controller chain: Pod → ReplicaSet → Deployment, Pod → Job
	// → CronJob, at most a few steps.
	cur := u
	for range 3 {
		ctl, ok := controllerOf(cur)
		if !ok {
			break
		}
		k, ns, name := splitController(ctl)
		cs.dirty[objKey{k, storeKey(ns, name)}] = true
		s := cs.lister.stores[k]
		if s == nil {
			break
		}
		o, ok, _ := s.GetByKey(storeKey(ns, name))
		if !ok {
			break
		}
		if cur, ok = o.(*unstructured.Unstructured); !ok {
			break
		}
	}
	trigger(cs.changed)
}

func splitController(s string) (kind, ns, name string) {
	kind, rest, _ := strings.Cut(s, "/")
	ns, name, _ = strings.Cut(rest, "/")
	return kind, ns, name
}

func storeKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// loop sends the first full resync, then a delta once changes settle, a
// full resync when a watch relisted and every Resync.
func (cs *clusterState) loop(ctx context.Context) error {
	defer cs.trim.Stop()
	resync := time.NewTicker(cs.o.Resync)
	defer resync.Stop()
	var verdictTick <-chan time.Time
	if cs.verdicts != nil {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		verdictTick = t.C
	}
	for {
		cs.mu.Lock()
		why := cs.needResync
		cs.needResync = ""
		cs.mu.Unlock()
		if why != "" {
			cs.fullResync(ctx, why)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			cs.mu.Lock()
			cs.needResync = "periodic"
			cs.mu.Unlock()
		case <-verdictTick:
			cs.verdicts.refresh(ctx) // a change marks every object
		case <-cs.changed:
			if !sleep(ctx, cs.o.Settle) {
				return nil
			}
			drain(cs.changed)
			cs.mu.Lock()
			pending := cs.needResync != ""
			cs.mu.Unlock()
			if !pending {
				cs.sendChanges(ctx)
			}
		}
	}
}

// sendable says whether messages may be queued; a refused credential
// stops the agent sending (said once), until the server accepts it again.
func (cs *clusterState) sendable() bool {
	refused := cs.c.Refused()
	if refused && !cs.refused {
		cs.log.Error("cluster agent: the server refuses the agent credential (revoked or expired): not sending; changes are kept and the outbox keeps what it holds; enrol again with a new enrolment token",
			"outbox_queued", cs.c.OutboxStats().Queued)
	}
	if !refused && cs.refused {
		cs.log.Info("cluster agent: the server accepts the credential again: sending resumes with a full resync")
		cs.mu.Lock()
		cs.needResync = "credential accepted again"
		cs.mu.Unlock()
	}
	cs.refused = refused
	return !refused
}

// fullResync sends every object, Chunk objects a message, under one new
// resync id; the last message ends the resync and the server prunes what
// it did not hold. The hashes are rebuilt from what was sent.
func (cs *clusterState) fullResync(ctx context.Context, why string) {
	if !cs.sendable() {
		cs.mu.Lock()
		cs.needResync = why
		cs.mu.Unlock()
		return
	}
	start := time.Now()
	id := newResyncID()
	cs.mu.Lock()
	// What changes from here on is in this resync or the next delta.
	clear(cs.dirty)
	clear(cs.dirtyNS)
	cs.allDirty = false
	cs.mu.Unlock()
	keys := cs.lister.allKeys()
	hashes := make(map[string][32]byte, len(keys))
	msgs, objects := 0, 0
	for i := 0; i == 0 || i < len(keys); i += cs.o.Chunk {
		part := keys[i:min(i+cs.o.Chunk, len(keys))]
		ups, err := cs.evaluate(ctx, part)
		if err != nil {
			if ctx.Err() == nil {
				cs.log.Error("cluster agent: evaluation failed; the resync is retried at the next change", "err", err)
				cs.mu.Lock()
				cs.needResync = why
				cs.mu.Unlock()
			}
			return
		}
		d := cs.delta()
		d.Resync, d.ResyncBegin, d.ResyncEnd = id, i == 0, i+cs.o.Chunk >= len(keys)
		for _, u := range ups {
			hashes[u.Resource.ID] = objectHash(u)
		}
		d.Upserts = ups
		if err := cs.queue(ctx, d); err != nil {
			cs.log.Error("cluster agent: queueing a resync message failed; retried at the next change", "err", err)
			cs.mu.Lock()
			cs.needResync = why
			cs.mu.Unlock()
			return
		}
		msgs++
		objects += len(ups)
	}
	cs.hashes = hashes
	cs.st.resyncs.Add(1)
	cs.st.upserts.Add(uint64(objects))
	cs.trim.Soon() // what start-up and the resync took, once quiet
	cs.log.Info("cluster agent: full resync queued", "why", why, "resync", id, "objects", objects, "messages", msgs, "in", time.Since(start).Round(time.Millisecond))
}

// sendChanges re-evaluates the objects changed since the last message and
// queues those whose hash changed, and the ones that are gone.
func (cs *clusterState) sendChanges(ctx context.Context) {
	if !cs.sendable() {
		return
	}
	cs.mu.Lock()
	dirty, dirtyNS, all := cs.dirty, cs.dirtyNS, cs.allDirty
	cs.dirty, cs.dirtyNS, cs.allDirty = map[objKey]bool{}, map[string]bool{}, false
	cs.mu.Unlock()
	if all {
		for _, k := range cs.lister.allKeys() {
			dirty[k] = true
		}
	}
	if len(dirtyNS) > 0 {
		for _, k := range cs.lister.allKeys() {
			ns, _, found := strings.Cut(k.key, "/")
			if found && dirtyNS[ns] {
				dirty[k] = true
			}
		}
	}
	var present []objKey
	var deletes []string
	for k := range dirty {
		if k.kind == "Namespace" || cs.lister.stores[k.kind] == nil {
			continue
		}
		if _, ok, _ := cs.lister.stores[k.kind].GetByKey(k.key); ok {
			present = append(present, k)
			continue
		}
		ns, name, found := strings.Cut(k.key, "/")
		if !found {
			ns, name = "", k.key
		}
		id := model.KubeObjectID(cs.clusterID, ns, k.kind, name)
		if k.kind == nodeKind {
			id = NodeID(cs.clusterID, name)
		}
		if _, sent := cs.hashes[id]; sent {
			deletes = append(deletes, id)
		}
	}
	sort.Slice(present, func(i, j int) bool { return present[i].kind+present[i].key < present[j].kind+present[j].key })
	sort.Strings(deletes)
	restore := func() {
		cs.mu.Lock()
		for k := range dirty {
			cs.dirty[k] = true
		}
		cs.mu.Unlock()
	}
	for i := 0; i == 0 || i < len(present); i += cs.o.Chunk {
		part := present[i:min(i+cs.o.Chunk, len(present))]
		ups, err := cs.evaluate(ctx, part)
		if err != nil {
			if ctx.Err() == nil {
				cs.log.Error("cluster agent: evaluation failed; retried at the next change", "err", err)
				restore()
			}
			return
		}
		d := cs.delta()
		for _, u := range ups {
			h := objectHash(u)
			if old, ok := cs.hashes[u.Resource.ID]; ok && old == h {
				cs.st.unchanged.Add(1)
				continue
			}
			d.Upserts = append(d.Upserts, u)
		}
		if i+cs.o.Chunk >= len(present) {
			d.Deletes = deletes
		}
		if len(d.Upserts) == 0 && len(d.Deletes) == 0 {
			continue
		}
		if err := cs.queue(ctx, d); err != nil {
			cs.log.Error("cluster agent: queueing a delta failed; retried at the next change", "err", err)
			restore()
			return
		}
		for _, u := range d.Upserts {
			cs.hashes[u.Resource.ID] = objectHash(u)
		}
		for _, id := range d.Deletes {
			delete(cs.hashes, id)
		}
		cs.st.upserts.Add(uint64(len(d.Upserts)))
		cs.st.deletes.Add(uint64(len(d.Deletes)))
		cs.log.Debug("cluster agent: delta queued", "seq", d.Seq, "upserts", len(d.Upserts), "deletes", len(d.Deletes))
	}
}

func (cs *clusterState) delta() *policyreport.Delta {
	cs.seq++
	return &policyreport.Delta{SchemaVersion: policyreport.SchemaVersion, Tool: "bulwark", Version: cs.o.Version, GeneratedAt: cs.o.Now().UTC(),
		Delta: policyreport.DeltaFormat, Cluster: cs.o.Cluster.Name, ClusterID: cs.clusterID, Seq: cs.seq}
}

// queue encodes a message straight into a compressed outbox record.
func (cs *clusterState) queue(ctx context.Context, d *policyreport.Delta) error {
	return cs.c.Queue(ctx, func(w io.Writer) error { return json.NewEncoder(w).Encode(d) })
}

// evaluate runs the workload policies over the given objects (audit k8s's
// scan, over the informers' caches) and returns them as delta objects,
// with the digests their pods run. Objects a listed controller owns are
// not among them (their controller is).
func (cs *clusterState) evaluate(ctx context.Context, keys []objKey) ([]policyreport.DeltaObject, error) {
	// Nodes are inventoried, not evaluated.
	var nodes []policyreport.DeltaObject
	keys = slices.DeleteFunc(slices.Clone(keys), func(k objKey) bool {
		if k.kind != nodeKind {
			return false
		}
		if o, ok, _ := cs.lister.stores[nodeKind].GetByKey(k.key); ok {
			if u, ok := o.(*unstructured.Unstructured); ok {
				nodes = append(nodes, cs.nodeObject(u))
			}
		}
		return true
	})
	if len(keys) == 0 {
		return nodes, nil
	}
	l := &informerLister{stores: cs.lister.stores, indexers: cs.lister.indexers, only: keys}
	ce := cs.engine.Load()
	so := clusterscan.Options{Lister: l, Evaluator: ce.eng, Cluster: cs.clusterID, Logger: cs.log}
	if cs.verdicts != nil {
		so.Prefetch = cs.verdicts.prefetch
	}
	items, listErr := clusterscan.Scan(ctx, so)
	if items == nil && listErr != nil {
		return nil, listErr
	}
	cs.st.evals.Add(uint64(len(items)))
	rep := policyreport.New(cs.o.Version, cs.o.Now(), ce.policies)
	out := make([]policyreport.DeltaObject, 0, len(items))
	for _, it := range items {
		rep.Add(it.Result, it.Resource)
		r := rep.Results[len(rep.Results)-1]
		out = append(out, policyreport.DeltaObject{Resource: r.Resource, Assessments: r.Assessments,
			Running: cs.running(it.Result.Kind, it.Result.Namespace, it.Result.Name)})
	}
	return append(out, nodes...), nil
}

// running lists the digests the pods of a workload (or a pod itself) run,
// from the kubelet's container statuses.
func (cs *clusterState) running(kind, ns, name string) []policyreport.RunningImage {
	var pods []any
	switch kind {
	case "Pod":
		if o, ok, _ := cs.lister.stores["Pod"].GetByKey(storeKey(ns, name)); ok {
			pods = append(pods, o)
		}
	case "Deployment", "CronJob":
		mid := map[string]string{"Deployment": "ReplicaSet", "CronJob": "Job"}[kind]
		if ix := cs.lister.indexers[mid]; ix != nil {
			owned, _ := ix.ByIndex(controllerIndex, kind+"/"+ns+"/"+name)
			for _, o := range owned {
				if u, ok := o.(*unstructured.Unstructured); ok {
					p, _ := cs.lister.indexers["Pod"].ByIndex(controllerIndex, mid+"/"+ns+"/"+u.GetName())
					pods = append(pods, p...)
				}
			}
		}
	default:
		if ix := cs.lister.indexers["Pod"]; ix != nil {
			pods, _ = ix.ByIndex(controllerIndex, kind+"/"+ns+"/"+name)
		}
	}
	var out []policyreport.RunningImage
	seen := map[string]bool{}
	for _, p := range pods {
		u, ok := p.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		for _, field := range []string{"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"} {
			sts, _, _ := unstructured.NestedSlice(u.Object, "status", field)
			for _, s := range sts {
				m, _ := s.(map[string]any)
				imageID, _ := m["imageID"].(string)
				repo, digest, ok := policyreport.ParseImageID(imageID)
				if !ok {
					continue
				}
				cname, _ := m["name"].(string)
				image, _ := m["image"].(string)
				if strings.ContainsAny(image, ",\n\r\x00") || len(image) > 1024 {
					image = ""
				}
				k := cname + "\x00" + digest
				if seen[k] || len(out) >= 64 {
					continue
				}
				seen[k] = true
				out = append(out, policyreport.RunningImage{Container: cname, Image: image, Digest: digest, Repository: repo})
			}
		}
	}
	slices.SortFunc(out, func(a, b policyreport.RunningImage) int {
		return strings.Compare(a.Container+"\x00"+a.Digest, b.Container+"\x00"+b.Digest)
	})
	return out
}

// objectHash is an object's content hash: its resource, assessments
// (their observation time aside) and running images.
func objectHash(u policyreport.DeltaObject) [32]byte {
	as := make([]model.Assessment, len(u.Assessments))
	copy(as, u.Assessments)
	for i := range as {
		as[i].ObservedAt = time.Time{}
	}
	u.Assessments = as
	h, _ := StreamHash(u) // a DeltaObject always encodes
	return h
}

func newResyncID() string {
	b := make([]byte, 9)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

// slim is the informers' transform: the caches keep what the policies and
// the running images read. Managed fields and the last-applied annotation
// (most of a small object) go; of a pod's status only its containers'
// names, images and image IDs stay; other kinds keep no status.
func slim(kind string) cache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		u.SetManagedFields(nil)
		if md, ok := u.Object["metadata"].(map[string]any); ok {
			if ann, ok := md["annotations"].(map[string]any); ok {
				delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
				delete(ann, "deployment.kubernetes.io/revision")
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
		}
		st, _ := u.Object["status"].(map[string]any)
		delete(u.Object, "status")
		if kind == nodeKind {
			slimNode(u, st)
		}
		if kind == "Pod" && st != nil {
			keep := map[string]any{}
			for _, field := range []string{"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"} {
				sts, _ := st[field].([]any)
				var slimmed []any
				for _, s := range sts {
					m, _ := s.(map[string]any)
					if m == nil {
						continue
					}
					slimmed = append(slimmed, map[string]any{"name": m["name"], "image": m["image"], "imageID": m["imageID"]})
				}
				if len(slimmed) > 0 {
					keep[field] = slimmed
				}
			}
			if len(keep) > 0 {
				u.Object["status"] = keep
			}
		}
		return u, nil
	}
}

// informerLister is a clusterscan.Lister over informer caches: every
// object, or only the given keys. Objects are copied: the scan prepares
// them in place.
type informerLister struct {
	stores   map[string]cache.Store
	indexers map[string]cache.Indexer
	only     []objKey
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

// allKeys lists every cached object but namespaces, in a stable order.
func (l *informerLister) allKeys() []objKey {
	var out []objKey
	for _, k := range append(clusterscan.Kinds(), clusterscan.Kind{Kind: nodeKind}) {
		s := l.stores[k.Kind]
		if s == nil {
			continue
		}
		keys := s.ListKeys()
		sort.Strings(keys)
		for _, key := range keys {
			out = append(out, objKey{k.Kind, key})
		}
	}
	return out
}

func (l *informerLister) List(ctx context.Context, k clusterscan.Kind, namespace string, fn func(clusterscan.Object) error) error {
	s := l.stores[k.Kind]
	if s == nil {
		return fmt.Errorf("no informer for %s", k.Kind)
	}
	each := func(o any) error {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || (namespace != "" && u.GetNamespace() != namespace) {
			return nil
		}
		return fn(u.DeepCopy().Object)
	}
	if l.only == nil || k.Kind == "Namespace" {
		for _, o := range s.List() {
			if err := each(o); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	for _, key := range l.only {
		if key.kind != k.Kind {
			continue
		}
		o, ok, err := s.GetByKey(key.key)
		if err != nil || !ok {
			continue
		}
		if err := each(o); err != nil {
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
