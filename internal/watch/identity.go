package watch

import (
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Identity names the resources of host and container alerts the way the
// inventory names them (docs/schema.md): a Docker host is its engine's ID
// (kind docker-host, as its CIS report and its package inventory say), a
// container is <engine ID>/<full container id> with its name; so an
// alert lands on the resource the server already holds, whichever source
// saw it. Without a known engine the run-time ids are kept
// (container:<id>, host:<name>), with the container's name all the same.
// Its methods are safe for concurrent use: the agent sets the engine as
// it learns it, the pipeline reads it per alert.
type Identity struct {
	mu                 sync.RWMutex
	hostID, hostName   string
	local              map[string]bool // the names sources give this host (Event.Host)
	names              map[string]string
	byShort            map[string]string // 12-hex prefix → full id (Falco's container.id)
	maxNames           int
	namesOverflowCount uint64
}

// NewIdentity makes an identity for this host; hostNames are the names
// sources put on its events (the node name, the host name).
func NewIdentity(hostNames ...string) *Identity {
	id := &Identity{local: map[string]bool{"": true}, names: map[string]string{}, byShort: map[string]string{}, maxNames: 65536}
	for _, n := range hostNames {
		id.local[n] = true
	}
	return id
}

// SetDockerHost names the Docker host: its engine's ID and name (the
// name also marks the host's events as local).
func (id *Identity) SetDockerHost(engineID, name string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.hostID, id.hostName = engineID, name
	if name != "" {
		id.local[name] = true
	}
}

// DockerHost is the engine ID set, "" before.
func (id *Identity) DockerHost() string {
	id.mu.RLock()
	defer id.mu.RUnlock()
	return id.hostID
}

// observe learns container names from the events that carry them (the
// Docker source joins the engine's inspect data); a destroyed container
// is forgotten. Called by the engine goroutine for every event.
func (id *Identity) observe(ev *event.Event) {
	c := ev.Container
	if c == nil || len(c.ID) != 64 {
		return
	}
	if ev.Source == event.SourceDocker && ev.Action == "destroy" {
		id.mu.Lock()
		delete(id.names, c.ID)
		delete(id.byShort, c.ID[:12])
		id.mu.Unlock()
		return
	}
	if c.Name == "" {
		return
	}
	id.mu.RLock()
	known := id.names[c.ID] == c.Name
	id.mu.RUnlock()
	if known {
		return
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	if len(id.names) >= id.maxNames {
		// Bounded: a host churning through containers never destroyed
		// (no destroy seen) starts over rather than grow.
		clear(id.names)
		clear(id.byShort)
		id.namesOverflowCount++
	}
	id.names[c.ID] = c.Name
	id.byShort[c.ID[:12]] = c.ID
}

// Resource is r, an alert's resource built by the engine from ev, named
// as the inventory names it.
func (id *Identity) Resource(r model.Resource, ev *event.Event) model.Resource {
	id.mu.RLock()
	defer id.mu.RUnlock()
	local := ev == nil || id.local[ev.Host]
	switch r.Kind {
	case model.KindContainer:
		cid, ok := strings.CutPrefix(r.ID, "container:")
		if !ok {
			return r
		}
		if full, ok := id.byShort[cid]; ok && len(cid) == 12 {
			cid = full // Falco names containers by the 12-hex prefix
		}
		if name := id.names[cid]; name != "" {
			r.Name = name
		}
		if id.hostID == "" || !local {
			r.ID = "container:" + cid
			return r
		}
		r.ID, r.Parent = id.hostID+"/"+cid, id.hostID
		if r.Labels != nil {
			if _, ok := r.Labels["host"]; ok {
				r.Labels["host"] = id.hostName
			}
		}
	case model.KindHost:
		if id.hostID == "" || !local {
			return r
		}
		r = model.Resource{Kind: model.KindDockerHost, ID: id.hostID, Name: id.hostName}
	}
	return r
}

// twinWindow is how close in event time two alerts of one title on one
// resource must be to be one happening seen twice.
const twinWindow = 10 * time.Second

// twins drops the second sighting of one happening: a rule of the Docker
// source and one of the node sensors with the same title (a docker exec
// into a privileged container is VM_PrivilegedExecutionInContainer from
// the engine's events and K8S.NODE_PrivilegedExecutionInContainer from the
// exec the sensor saw) on the same resource, or on a container and the
// host it runs on, within twinWindow. Repeats of one type are left to the
// aggregator, which counts them.
type twins struct {
	seen map[twinKey]twinSeen
	max  int
}

type twinKey struct{ title, resource string }

type twinSeen struct {
	typ string
	at  time.Time
}

func newTwins() *twins { return &twins{seen: map[twinKey]twinSeen{}, max: 4096} }

// dup reports whether a is a twin of an alert already let through, and
// records it otherwise.
func (t *twins) dup(a model.Alert) bool {
	// An alert meets its twin on its own resource, and a container's meets
	// its host's (and the other way round); two containers never meet.
	self := twinKey{a.Title, a.Resource.ID}
	var rec, check twinKey
	switch a.Resource.Kind {
	case model.KindContainer:
		if a.Resource.Parent != "" {
			rec, check = twinKey{a.Title, "in\x00" + a.Resource.Parent}, twinKey{a.Title, "host\x00" + a.Resource.Parent}
		}
	case model.KindDockerHost, model.KindHost:
		rec, check = twinKey{a.Title, "host\x00" + a.Resource.ID}, twinKey{a.Title, "in\x00" + a.Resource.ID}
	}
	at := a.FirstSeen
	for _, k := range []twinKey{self, check} {
		if s, ok := t.seen[k]; ok && k.resource != "" && s.typ != a.Type && absDur(at.Sub(s.at)) <= twinWindow {
			return true
		}
	}
	if len(t.seen) >= t.max {
		for k, s := range t.seen {
			if absDur(at.Sub(s.at)) > twinWindow {
				delete(t.seen, k)
			}
		}
		if len(t.seen) >= t.max {
			clear(t.seen)
		}
	}
	t.seen[self] = twinSeen{a.Type, at}
	if rec.resource != "" {
		t.seen[rec] = twinSeen{a.Type, at}
	}
	return false
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// rename gives a the resource id names and an alert id to match.
func rename(a *model.Alert, id *Identity, ev *event.Event) {
	r := id.Resource(a.Resource, ev)
	if r.ID != a.Resource.ID {
		a.ID = runtime.AlertID(a.Type, r.ID)
	}
	a.Resource = r
}
