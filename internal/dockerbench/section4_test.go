package dockerbench

import (
	"reflect"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

const (
	s4GoodID = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	s4BadID  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// s467Control finds a registered control by id.
func s467Control(t *testing.T, id string) Control {
	t.Helper()
	for _, c := range Controls() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s is not registered", id)
	return Control{}
}

// s4Image is an image that passes every section 4 check: a non-root
// user, a health check, a history made of COPY and an install.
func s4Image(id string, tags ...string) ImageFacts {
	cfg := &dockerspec.DockerOCIImageConfig{}
	cfg.User = "1000"
	cfg.Env = []string{"PATH=/usr/bin"}
	cfg.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/app", "-health"}}
	return ImageFacts{
		Inspect: image.InspectResponse{ID: id, RepoTags: tags, RepoDigests: nil, Config: cfg, Size: 5e6, Created: "2024-05-01T10:00:00Z"},
		History: []image.HistoryResponseItem{
			{CreatedBy: "COPY app /app # buildkit"},
			{CreatedBy: "RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit"},
			{CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef in / "},
		},
	}
}

func s4Container(name, img, user string, running bool) container.InspectResponse {
	return container.InspectResponse{
		ID: "c0ffee" + name, Name: "/" + name, Image: s4GoodID,
		State:  &container.State{Running: running, Status: map[bool]container.ContainerState{true: "running", false: "exited"}[running]},
		Config: &container.Config{User: user, Image: img},
	}
}

func s4Good() *Snapshot {
	return &Snapshot{
		Images:     []ImageFacts{s4Image(s4GoodID, "app:1.2")},
		Containers: []container.InspectResponse{s4Container("web-1", "app:1.2", "1000", true)},
	}
}

type s4Case struct {
	name     string
	edit     func(*Snapshot)
	status   Status
	evidence []string // nil: not checked; empty: must be empty
}

func s4Run(t *testing.T, id string, cases []s4Case) {
	t.Helper()
	c := s467Control(t, id)
	for _, tc := range cases {
		t.Run(id+"/"+tc.name, func(t *testing.T) {
			s := s4Good()
			if tc.edit != nil {
				tc.edit(s)
			}
			got := c.Check(s)
			if got.Status != tc.status {
				t.Errorf("status %s, want %s (evidence %q)", got.Status, tc.status, got.Evidence)
			}
			if tc.evidence != nil && !reflect.DeepEqual(got.Evidence, tc.evidence) && !(len(tc.evidence) == 0 && len(got.Evidence) == 0) {
				t.Errorf("evidence\n got %q\nwant %q", got.Evidence, tc.evidence)
			}
		})
	}
}

func TestSection4User(t *testing.T) {
	setUser := func(u string) func(*Snapshot) {
		return func(s *Snapshot) { s.Containers[0].Config.User = u }
	}
	s4Run(t, "4.1", []s4Case{
		{"non-root user", nil, Pass, []string{}},
		{"user:group", setUser("app:app"), Pass, []string{}},
		{"empty user", setUser(""), Fail, []string{"container web-1 (image app:1.2): Config.User is empty (runs as root)"}},
		{"root", setUser("root"), Fail, []string{`container web-1 (image app:1.2): Config.User="root" (runs as root)`}},
		{"uid 0 with group", setUser("0:0"), Fail, []string{`container web-1 (image app:1.2): Config.User="0:0" (runs as root)`}},
		{"stopped root container ignored", func(s *Snapshot) {
			s.Containers = append(s.Containers, s4Container("old", "app:1.0", "", false))
		}, Pass, []string{}},
		{"every offender listed", func(s *Snapshot) {
			s.Containers = append(s.Containers, s4Container("db", "postgres:16", "", true), s4Container("cache", "redis:7", "root", true))
		}, Fail, []string{
			"container db (image postgres:16): Config.User is empty (runs as root)",
			`container cache (image redis:7): Config.User="root" (runs as root)`,
		}},
		{"no running containers", func(s *Snapshot) { s.Containers[0].State.Running = false }, NotApplicable, []string{"no running containers"}},
		{"nil config and state are safe", func(s *Snapshot) {
			s.Containers = append(s.Containers, container.InspectResponse{Name: "/bare"}, container.InspectResponse{Name: "/noconf", Image: "sha256:abc", State: &container.State{Running: true}})
		}, Fail, []string{"container noconf (image sha256:abc): Config.User is empty (runs as root)"}},
	})
}

func TestSection4ContentTrust(t *testing.T) {
	s4Run(t, "4.5", []s4Case{{"engine cannot tell", nil, Warn, nil}})
}

func TestSection4Healthcheck(t *testing.T) {
	setHC := func(hc *dockerspec.HealthcheckConfig) func(*Snapshot) {
		return func(s *Snapshot) { s.Images[0].Inspect.Config.Healthcheck = hc }
	}
	s4Run(t, "4.6", []s4Case{
		{"healthcheck", nil, Pass, []string{}},
		{"shell healthcheck", setHC(&dockerspec.HealthcheckConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}}), Pass, []string{}},
		{"none", setHC(nil), Fail, []string{"image app:1.2 (sha256:111111111111): Config.Healthcheck is not set"}},
		{"HEALTHCHECK NONE", setHC(&dockerspec.HealthcheckConfig{Test: []string{"NONE"}}), Fail, []string{`image app:1.2 (sha256:111111111111): Config.Healthcheck.Test is ["NONE"] (HEALTHCHECK NONE)`}},
		{"empty test", setHC(&dockerspec.HealthcheckConfig{}), Fail, []string{"image app:1.2 (sha256:111111111111): Config.Healthcheck.Test is empty"}},
		{"untagged image without config", func(s *Snapshot) {
			s.Images = append(s.Images, ImageFacts{Inspect: image.InspectResponse{ID: s4BadID}})
		}, Fail, []string{"image sha256:222222222222: Config.Healthcheck is not set"}},
		{"several tags", func(s *Snapshot) {
			s.Images[0].Inspect.RepoTags = []string{"app:latest", "app:1.2"}
			s.Images[0].Inspect.Config.Healthcheck = nil
		}, Fail, []string{"image app:1.2, app:latest (sha256:111111111111): Config.Healthcheck is not set"}},
		{"no images", func(s *Snapshot) { s.Images = nil }, NotApplicable, []string{"no images on this host"}},
	})
}

func TestSection4UpdateAlone(t *testing.T) {
	addHist := func(lines ...string) func(*Snapshot) {
		return func(s *Snapshot) {
			for _, l := range lines {
				s.Images[0].History = append([]image.HistoryResponseItem{{CreatedBy: l}}, s.Images[0].History...)
			}
		}
	}
	s4Run(t, "4.7", []s4Case{
		{"update with install", nil, Info, []string{"no update-only instruction in the history of 1 images"}},
		{"apt-get update alone", addHist("RUN /bin/sh -c apt-get -qq update # buildkit"), Info, []string{
			`image app:1.2 (sha256:111111111111): history "RUN /bin/sh -c apt-get -qq update # buildkit" refreshes the package index without installing in the same instruction`,
		}},
		{"apk update alone, classic builder", addHist("/bin/sh -c apk update"), Info, []string{
			`image app:1.2 (sha256:111111111111): history "/bin/sh -c apk update" refreshes the package index without installing in the same instruction`,
		}},
		{"yum update upgrades, not update-only", addHist("RUN yum -y update && yum clean all"), Info, []string{"no update-only instruction in the history of 1 images"}},
		{"apk add after update", addHist("RUN apk update && apk add curl"), Info, []string{"no update-only instruction in the history of 1 images"}},
	})
}

func TestSection4CopyNotAdd(t *testing.T) {
	addHist := func(l string) func(*Snapshot) {
		return func(s *Snapshot) {
			s.Images[0].History = append([]image.HistoryResponseItem{{CreatedBy: l}}, s.Images[0].History...)
		}
	}
	s4Run(t, "4.9", []s4Case{
		{"base ADD ignored", nil, Info, []string{"no ADD instruction in the history of 1 images (base layers ignored)"}},
		{"buildkit ADD", addHist("ADD https://example.com/x.tgz /opt/ # buildkit"), Info, []string{
			`image app:1.2 (sha256:111111111111): history "ADD https://example.com/x.tgz /opt/ # buildkit" uses ADD`,
		}},
		{"classic ADD", addHist("/bin/sh -c #(nop) ADD dir:abc in /srv "), Info, []string{
			`image app:1.2 (sha256:111111111111): history "/bin/sh -c #(nop) ADD dir:abc in /srv" uses ADD`,
		}},
		{"ENV ADDRESS is not ADD", addHist("/bin/sh -c #(nop)  ENV ADDRESS=0.0.0.0"), Info, []string{"no ADD instruction in the history of 1 images (base layers ignored)"}},
	})
}

func TestSection4Secrets(t *testing.T) {
	s4Run(t, "4.10", []s4Case{
		{"clean", nil, Info, []string{"no secret-like names in the environment or history of 1 images"}},
		{"env and build arg", func(s *Snapshot) {
			s.Images[0].Inspect.Config.Env = append(s.Images[0].Inspect.Config.Env, "DB_PASSWORD=hunter2", "GITHUB_TOKEN=x")
			s.Images[0].History = append(s.Images[0].History, image.HistoryResponseItem{CreatedBy: "RUN |1 NPM_TOKEN=abc /bin/sh -c npm ci # buildkit"})
		}, Info, []string{
			"image app:1.2 (sha256:111111111111): Config.Env sets DB_PASSWORD, GITHUB_TOKEN",
			"image app:1.2 (sha256:111111111111): 1 history entries mention a secret-like name (see `docker history --no-trunc app:1.2`)",
		}},
	})
	// Values never reach the evidence.
	s := s4Good()
	s.Images[0].Inspect.Config.Env = []string{"DB_PASSWORD=hunter2"}
	if ev := strings.Join(checkSecretsInDockerfile(s).Evidence, "\n"); strings.Contains(ev, "hunter2") {
		t.Errorf("secret value leaked into evidence: %s", ev)
	}
}

func TestSection4VerifiedPackages(t *testing.T) {
	s4Run(t, "4.11", []s4Case{
		{"clean", nil, Info, []string{"no unverified installs seen in the history of 1 images; review how packages are fetched"}},
		{"nogpgcheck", func(s *Snapshot) {
			s.Images[0].History = append(s.Images[0].History, image.HistoryResponseItem{CreatedBy: "RUN dnf install -y --nogpgcheck foo"})
		}, Info, []string{`image app:1.2 (sha256:111111111111): history "RUN dnf install -y --nogpgcheck foo" skips verification (--nogpgcheck)`}},
		{"curl pipe sh", func(s *Snapshot) {
			s.Images[0].History = append(s.Images[0].History, image.HistoryResponseItem{CreatedBy: "RUN curl -fsSL https://x.example/install | sh"})
		}, Info, []string{`image app:1.2 (sha256:111111111111): history "RUN curl -fsSL https://x.example/install | sh" skips verification (curl -fsSL https://x.example/install | sh)`}},
	})
}

func TestSection4Manual(t *testing.T) {
	s := s4Good()
	s.Images[0].History = append(s.Images[0].History, image.HistoryResponseItem{CreatedBy: "RUN chmod u+s /usr/bin/helper"})
	want := map[string][]string{
		"4.2": {"image app:1.2 (sha256:111111111111): review its origin (no repo digest: built locally or loaded from a file)"},
		"4.3": {"image app:1.2 (sha256:111111111111): 5.0 MB; list its packages with `bulwark sbom --docker app:1.2` and remove what the application does not use"},
		"4.4": {"image app:1.2 (sha256:111111111111): created 2024-05-01T10:00:00Z; scan it with `bulwark scan image --docker app:1.2`"},
		"4.8": {
			`image app:1.2 (sha256:111111111111): history "RUN chmod u+s /usr/bin/helper" sets setuid/setgid bits`,
			"1 images: list their setuid/setgid files with `docker run --rm --entrypoint find IMAGE / -xdev -perm /6000 -type f` (images that ship find)",
		},
		"4.12": {
			"image app:1.2 (sha256:111111111111): no repo digest (built locally or loaded), so no registry signature to validate",
			"1 images: check that each one's signature was validated before it was deployed",
		},
	}
	for id, ev := range want {
		got := s467Control(t, id).Check(s)
		if got.Status != Info || !reflect.DeepEqual(got.Evidence, ev) {
			t.Errorf("%s: %s %q, want info %q", id, got.Status, got.Evidence, ev)
		}
	}
	// Every section 4 control survives an empty snapshot.
	for _, c := range Controls() {
		if strings.HasPrefix(c.ID, "4.") {
			if r := c.Check(&Snapshot{}); r.Status == "" {
				t.Errorf("%s: no status on an empty snapshot", c.ID)
			}
		}
	}
}
