package dockerbench

import (
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestSection6Sprawl(t *testing.T) {
	s := &Snapshot{
		Images: []ImageFacts{s4Image(s4GoodID, "app:1.2"), s4Image(s4BadID, "old:0.9"),
			s4Image("sha256:3333333333333333333333333333333333333333333333333333333333333333")},
		Containers: []container.InspectResponse{
			s4Container("web-1", "app:1.2", "1000", true),
			s4Container("web-0", "app:1.2", "1000", false),
			func() container.InspectResponse {
				c := s4Container("job", "sha256:3333", "1000", false)
				c.Image = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
				return c
			}(),
		},
	}
	tests := []struct {
		id   string
		want []string
	}{
		{"6.1", []string{"3 images, 2 used by containers (1 by running containers), 1 unused", "unused image old:0.9 (sha256:222222222222)"}},
		{"6.2", []string{"3 containers, 1 running, 2 not running", "container web-0: exited", "container job: exited"}},
	}
	for _, tc := range tests {
		got := s467Control(t, tc.id).Check(s)
		if got.Status != Info || !reflect.DeepEqual(got.Evidence, tc.want) {
			t.Errorf("%s: %s %q, want info %q", tc.id, got.Status, got.Evidence, tc.want)
		}
		if r := s467Control(t, tc.id).Check(&Snapshot{}); r.Status != Info {
			t.Errorf("%s on an empty snapshot: %s", tc.id, r.Status)
		}
	}
}
