package registry

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestParseDistributionCaptured reads the notifications a real
// docker-registry 2.8.2 sent (../shared/fixtures/registry).
func TestParseDistributionCaptured(t *testing.T) {
	path := testenv.Shared(t, "fixtures/registry/distribution-notifications.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var caps map[string]json.RawMessage
	if err := json.Unmarshal(raw, &caps); err != nil {
		t.Fatal(err)
	}
	want := map[string]Event{
		"push": {Action: "push", Repository: "peers/debian", Digest: "sha256:6092d622530bd3007aca05b952d28824a2b7e92c2626daa9871d7a36972d7b3c", Tag: "bookworm-minbase",
			MediaType: "application/vnd.docker.distribution.manifest.v2+json"},
		"pull": {Action: "pull", Repository: "peers/debian", Digest: "sha256:2c38f84f138fce6efeffc29ffd7e8e704eda8044d25162296da11c95e7e4dce5", Tag: "bookworm-extra",
			MediaType: "application/vnd.oci.image.manifest.v1+json"},
	}
	for k, w := range want {
		var c struct {
			Headers map[string]string `json:"http_headers"`
			Body    json.RawMessage   `json:"body"`
		}
		if err := json.Unmarshal(caps[k], &c); err != nil {
			t.Fatal(err)
		}
		format, evs, err := ParseEvents(c.Headers["Content-Type"], c.Body)
		if err != nil || format != FormatDistribution || len(evs) != 1 {
			t.Fatalf("%s: %s %+v %v", k, format, evs, err)
		}
		got := evs[0]
		got.At = got.At.UTC()
		if got.At.IsZero() {
			t.Errorf("%s: no time", k)
		}
		got.At = w.At
		if got != w {
			t.Errorf("%s: got %+v, want %+v", k, got, w)
		}
	}
}

func TestParseEvents(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, ct, body string
		format         string
		want           []Event
		err            bool
	}{
		{name: "harbor push", body: `{"type":"PUSH_ARTIFACT","occur_at":1700000000,"operator":"admin","event_data":{"resources":[{"digest":"` + d + `","tag":"v1","resource_url":"h/lib/app:v1"}],"repository":{"name":"app","namespace":"lib","repo_full_name":"lib/app","repo_type":"private"}}}`,
			format: FormatHarbor, want: []Event{{Action: "push", Repository: "lib/app", Digest: d, Tag: "v1"}}},
		{name: "harbor scan event", body: `{"type":"SCANNING_COMPLETED","event_data":{}}`, format: FormatHarbor},
		{name: "generic one", body: `{"repository":"a/b","digest":"` + d + `","action":"pull"}`, format: FormatGeneric, want: []Event{{Action: "pull", Repository: "a/b", Digest: d}}},
		{name: "generic list", body: `[{"repository":"a","digest":"` + d + `"}]`, format: FormatGeneric, want: []Event{{Action: "push", Repository: "a", Digest: d}}},
		{name: "distribution blob ignored", ct: DistributionMediaType, body: `{"events":[{"action":"push","target":{"mediaType":"application/octet-stream","digest":"` + d + `","repository":"a"}}]}`, format: FormatDistribution},
		{name: "distribution delete", ct: DistributionMediaType, body: `{"events":[{"action":"delete","target":{"digest":"` + d + `","repository":"a"}}]}`, format: FormatDistribution,
			want: []Event{{Action: "delete", Repository: "a", Digest: d}}},
		{name: "own pull ignored", ct: DistributionMediaType, body: `{"events":[{"action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","repository":"a"},"request":{"useragent":"` + OwnUserAgent + ` go-containerregistry"}}]}`, format: FormatDistribution},
		{name: "bad repository", body: `{"repository":"A/../b","digest":"` + d + `"}`, err: true},
		{name: "bad action", body: `{"repository":"a","digest":"` + d + `","action":"nuke"}`, err: true},
		{name: "bad digest", body: `{"repository":"a","digest":"md5:00"}`, err: true},
		{name: "bad tag", body: `{"repository":"a","digest":"` + d + `","tag":"-x"}`, err: true},
		{name: "trailing data", body: `{"repository":"a","digest":"` + d + `"} {}`, err: true},
		{name: "empty", body: ``, err: true},
		{name: "events not an array", ct: DistributionMediaType, body: `{"events":{}}`, err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			format, evs, err := ParseEvents(c.ct, []byte(c.body))
			if c.err {
				if err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("want ErrInvalid, got %+v %v", evs, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range evs {
				evs[i].At = evs[i].At.UTC()
				evs[i].At = evs[i].At.Truncate(0)
			}
			if format != c.format || len(evs) != len(c.want) {
				t.Fatalf("got %s %+v, want %s %+v", format, evs, c.format, c.want)
			}
			for i := range evs {
				evs[i].At = c.want[i].At
				if evs[i] != c.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, evs[i], c.want[i])
				}
			}
		})
	}
}

// FuzzParseEvents: any body either parses into valid events or is refused
// with ErrInvalid; never a panic, never an invalid event let through.
func FuzzParseEvents(f *testing.F) {
	d := "sha256:" + strings.Repeat("0", 64)
	f.Add(DistributionMediaType, `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+d+`","repository":"a/b","tag":"1"}}]}`)
	f.Add("", `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"digest":"`+d+`"}],"repository":{"repo_full_name":"x"}}}`)
	f.Add("application/json", `[{"repository":"a","digest":"`+d+`","action":"delete"}]`)
	f.Fuzz(func(t *testing.T, ct, body string) {
		_, evs, err := ParseEvents(ct, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		for _, e := range evs {
			if err := e.validate(); err != nil {
				t.Fatalf("invalid event let through: %+v: %v", e, err)
			}
		}
	})
}

func TestConfigNormalise(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Name: "hub", URL: "https://registry-1.docker.io"}, true},
		{Config{Name: "local", URL: "http://127.0.0.1:5000/"}, true},
		{Config{Name: "plain", URL: "http://registry.example"}, false},
		{Config{Name: "plain", URL: "http://registry.example", Insecure: true}, true},
		{Config{Name: "Bad Name", URL: "https://r.example"}, false},
		{Config{Name: "a--b", URL: "https://r.example"}, false},
		{Config{Name: "cred", URL: "https://u:p@r.example"}, false},
		{Config{Name: "path", URL: "https://r.example/v2"}, false},
		{Config{Name: "glob", URL: "https://r.example", Include: []string{"[a"}}, false},
		{Config{Name: "crawl", URL: "https://r.example", CrawlInterval: Duration(1)}, false},
		{Config{Name: "basic", URL: "https://r.example", Auth: AuthBasic}, false},
	} {
		err := c.cfg.Normalise()
		if (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
	c := Config{Name: "g", URL: "https://r.example", Include: []string{"team/**"}, Exclude: []string{"team/tmp-*"}}
	for repo, want := range map[string]bool{"team/app": true, "team/a/b": true, "team/tmp-1": false, "other/app": false} {
		if c.Wants(repo) != want {
			t.Errorf("Wants(%s) != %v", repo, want)
		}
	}
}

func TestSealer(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSealer(dir + "/k")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("hub", "s3cret")
	if err != nil || strings.Contains(string(sealed), "s3cret") {
		t.Fatalf("seal: %v", err)
	}
	s2, err := LoadSealer(dir + "/k") // the same key file: a second replica
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open("hub", sealed); err != nil || got != "s3cret" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := s2.Open("other", sealed); err == nil {
		t.Error("a secret opened under another registry's name")
	}
	if fi, _ := os.Stat(dir + "/k"); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode())
	}
}
