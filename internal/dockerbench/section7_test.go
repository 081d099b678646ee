package dockerbench

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

// s7Good is a healthy 3-manager swarm seen from a manager.
func s7Good() *Snapshot {
	info := &system.Info{}
	info.Swarm = swarm.Info{NodeID: "n1", NodeAddr: "10.0.0.1", LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true,
		Managers: 3, Nodes: 5, RemoteManagers: []swarm.Peer{{NodeID: "n1", Addr: "10.0.0.1:2377"}},
		Cluster: &swarm.ClusterInfo{DataPathPort: 4789}}
	sw := &swarm.Swarm{}
	sw.Spec.EncryptionConfig.AutoLockManagers = true
	sw.Spec.CAConfig.NodeCertExpiry = 48 * time.Hour
	sw.CreatedAt = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	n := func(name, driver string, opts map[string]string) network.Inspect {
		var i network.Inspect
		i.Name, i.Driver, i.Scope, i.Options = name, driver, "swarm", opts
		return i
	}
	svc := swarm.Service{}
	svc.Spec.Name = "web"
	svc.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Env: []string{"PORT=80"}, Secrets: []*swarm.SecretReference{{SecretName: "db"}}}
	svc.Endpoint.Ports = []swarm.PortConfig{{Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeIngress}}
	return &Snapshot{
		Info:          info,
		Swarm:         sw,
		Networks:      []network.Inspect{n("ingress", "overlay", map[string]string{"encrypted": ""}), n("backend", "overlay", map[string]string{"encrypted": "true"}), n("bridge", "bridge", nil)},
		SwarmServices: []swarm.Service{svc},
	}
}

func s7Inactive(s *Snapshot) { s.Info.Swarm = swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive} }
func s7Worker(s *Snapshot) {
	s.Info.Swarm.ControlAvailable, s.Info.Swarm.Managers, s.Info.Swarm.Nodes = false, 0, 0
	s.Swarm, s.SwarmServices = nil, nil
}

func TestSection7(t *testing.T) {
	managers := func(m, n int) func(*Snapshot) {
		return func(s *Snapshot) { s.Info.Swarm.Managers, s.Info.Swarm.Nodes = m, n }
	}
	tests := []struct {
		id, name string
		edit     func(*Snapshot)
		status   Status
		evidence []string
	}{
		{"7.1", "three managers", nil, Pass, []string{"swarm has 3 managers (of 5 nodes)"}},
		{"7.1", "one manager", managers(1, 1), Pass, []string{"swarm has 1 managers (of 1 nodes)"}},
		{"7.1", "even", managers(4, 6), Fail, []string{"swarm has 4 managers (of 6 nodes): an even number tolerates no more manager failures than 3"}},
		{"7.1", "too many", managers(9, 20), Fail, []string{"swarm has 9 managers (of 20 nodes): more than 7 managers slows consensus without adding useful fault tolerance"}},
		{"7.1", "worker", s7Worker, Warn, []string{notManagerEvidenceForBench}},
		{"7.2", "listen address unknown", nil, Warn, []string{
			"the swarm listen address is not reported by the Engine API: check that `ss -lnt` shows port 2377 bound to a specific address, not 0.0.0.0, [::] or *",
			"node address (advertised): 10.0.0.1",
			"service web: port 8080->80/tcp published in ingress mode on every interface of every node (routing mesh)",
		}},
		{"7.3", "all encrypted", nil, Pass, nil},
		{"7.3", "no overlays", func(s *Snapshot) { s.Networks = s.Networks[2:] }, Pass, []string{"no overlay networks"}},
		{"7.3", "plain overlay", func(s *Snapshot) {
			s.Networks[1].Options = map[string]string{"com.docker.network.driver.overlay.vxlanid_list": "4097"}
		}, Fail,
			[]string{`network backend (swarm): overlay without the "encrypted" option`}},
		{"7.4", "secrets used", func(s *Snapshot) {
			s.SwarmServices[0].Spec.TaskTemplate.ContainerSpec.Env = append(s.SwarmServices[0].Spec.TaskTemplate.ContainerSpec.Env, "DB_PASSWORD=x")
		}, Info,
			[]string{"1 services, 1 use swarm secrets", "service web: secret-like environment variables DB_PASSWORD (use docker secrets instead)"}},
		{"7.5", "autolock", nil, Pass, nil},
		{"7.5", "no autolock", func(s *Snapshot) { s.Swarm.Spec.EncryptionConfig.AutoLockManagers = false }, Fail, []string{"swarm: Spec.EncryptionConfig.AutoLockManagers=false"}},
		{"7.5", "worker", s7Worker, Warn, []string{notManagerEvidenceForBench}},
		{"7.5", "locked node", func(s *Snapshot) { s.Info.Swarm.LocalNodeState = swarm.LocalNodeStateLocked; s.Swarm = nil }, Pass, []string{"swarm node is locked, so auto-lock is on"}},
		{"7.6", "autolock on", nil, Info, []string{"auto-lock is on; the engine does not record when the unlock key was last rotated: check your rotation records (docker swarm unlock-key --rotate)"}},
		{"7.7", "48h", nil, Info, []string{"swarm: Spec.CAConfig.NodeCertExpiry=48h0m0s (2.0 days)"}},
		{"7.7", "default", func(s *Snapshot) { s.Swarm.Spec.CAConfig.NodeCertExpiry = 0 }, Info, []string{"swarm: Spec.CAConfig.NodeCertExpiry not set (default 2160h0m0s, 90 days)"}},
		{"7.8", "never rotated", nil, Info, []string{"swarm: Spec.CAConfig.ForceRotate=0 (root CA rotations with docker swarm ca --rotate)", "swarm created at 2024-01-02T03:04:05Z"}},
		{"7.9", "addresses", nil, Info, []string{"node management address: 10.0.0.1", "manager addresses: 10.0.0.1:2377", "data path port: 4789",
			"the data path address is not reported by the engine: check that nodes joined with --data-path-addr on a different interface"}},
	}
	for _, tc := range tests {
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			s := s7Good()
			if tc.edit != nil {
				tc.edit(s)
			}
			got := s467Control(t, tc.id).Check(s)
			if got.Status != tc.status || !reflect.DeepEqual(got.Evidence, tc.evidence) {
				t.Errorf("got %s %q\nwant %s %q", got.Status, got.Evidence, tc.status, tc.evidence)
			}
		})
	}
}

// Without swarm mode every section 7 control is not applicable; a nil
// Info never panics.
func TestSection7Inactive(t *testing.T) {
	for _, c := range Controls() {
		if !strings.HasPrefix(c.ID, "7.") {
			continue
		}
		s := s7Good()
		s7Inactive(s)
		if r := c.Check(s); r.Status != NotApplicable || !reflect.DeepEqual(r.Evidence, []string{"swarm mode is not active"}) {
			t.Errorf("%s inactive: %s %q", c.ID, r.Status, r.Evidence)
		}
		if r := c.Check(&Snapshot{}); r.Status != Warn {
			t.Errorf("%s without docker info: %s %q", c.ID, r.Status, r.Evidence)
		}
	}
}
