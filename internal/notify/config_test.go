package notify

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

const fullConfig = `# every field
sinks:
  - name: soc
    type: webhook
    url_file: secrets/soc-url
    headers: {X-Source: bulwark}
    header_files: {Authorization: secrets/soc-auth}
    ca_file: ca.pem
    kinds: [finding, alert]
    min_severity: high
    resource_kinds: [image, container]
    queue_dir: /var/lib/bulwark/notify/soc
    max_queue_bytes: 1048576
  - name: chat.ops
    type: slack
    url: https://hooks.slack.example/services/T000/B000/XXXX
    kinds: [recommendation]
  - name: siem
    type: syslog
    address: tcp://127.0.0.1:6514
`

func TestParseConfigFull(t *testing.T) {
	cfg, err := ParseConfig([]byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []SinkConfig{
		{Name: "soc", Type: SinkWebhook, URLFile: "secrets/soc-url", Headers: map[string]string{"X-Source": "bulwark"},
			HeaderFiles: map[string]string{"Authorization": "secrets/soc-auth"}, CAFile: "ca.pem",
			Kinds: []Kind{KindFinding, KindAlert}, MinSeverity: model.SeverityHigh,
			ResourceKinds: []model.ResourceKind{model.KindImage, model.KindContainer},
			QueueDir:      "/var/lib/bulwark/notify/soc", MaxQueueBytes: 1 << 20},
		{Name: "chat.ops", Type: SinkSlack, URL: "https://hooks.slack.example/services/T000/B000/XXXX", Kinds: []Kind{KindRecommendation}},
		{Name: "siem", Type: SinkSyslog, Address: "tcp://127.0.0.1:6514"},
	}
	if !reflect.DeepEqual(cfg.Sinks, want) {
		t.Errorf("got  %#v\nwant %#v", cfg.Sinks, want)
	}
	for _, s := range cfg.Sinks {
		if strings.Contains(s.String(), "XXXX") || strings.Contains(s.LogValue().String(), "XXXX") {
			t.Errorf("String/LogValue show the URL: %s %s", s, s.LogValue())
		}
	}
}

func TestParseConfigEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "sinks:\n", "sinks: []\n"} {
		cfg, err := ParseConfig([]byte(in))
		if err != nil || len(cfg.Sinks) != 0 {
			t.Errorf("%q: %v, %v", in, cfg, err)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"root list", "- a\n", "want a mapping"},
		{"unknown top", "sinks: []\nroutes: []\n", `unknown field "routes"`},
		{"sinks not list", "sinks: {a: 1}\n", "sinks: want a list"},
		{"sink not mapping", "sinks: [hook]\n", "sinks[0] (line 1): want a mapping"},
		{"unknown field", "sinks: [{name: a, type: webhook, url: 'http://h', retries: 3}]", `sink "a" (line 1): unknown field "retries"`},
		{"typo field", "sinks:\n  - name: a\n    type: webhook\n    url: http://h\n    min_severty: high\n", `sink "a" (line 5): unknown field "min_severty"`},
		{"duplicate field", "sinks: [{name: a, type: syslog, address: udp://h:1, address: udp://h:2}]", "field address"},
		{"no name", "sinks: [{type: syslog, address: 'udp://h:514'}]", "sinks[0], field name (line 1): required"},
		{"bad name", "sinks: [{name: 'a b', type: syslog, address: 'udp://h:514'}]", "field name"},
		{"dup name", "sinks: [{name: a, type: syslog, address: 'udp://h:514'}, {name: a, type: syslog, address: 'udp://h:515'}]", `sink "a" (line 1): name used twice`},
		{"no type", "sinks: [{name: a, url: 'http://h'}]", `sink "a", field type (line 1): required`},
		{"bad type", "sinks: [{name: a, type: email}]", `"email": want webhook, slack or syslog`},
		{"field of other type", "sinks: [{name: a, type: syslog, address: 'udp://h:514', url: 'http://h'}]", "field url (line 1): does not apply to type syslog"},
		{"address on webhook", "sinks: [{name: a, type: webhook, url: 'http://h', address: 'udp://h:1'}]", "field address (line 1): does not apply to type webhook"},
		{"no url", "sinks: [{name: a, type: slack}]", "field url (line 1): required (or url_file)"},
		{"url and file", "sinks: [{name: a, type: slack, url: 'http://h', url_file: f}]", "not both"},
		{"url scheme", "sinks: [{name: a, type: webhook, url: 'file:///etc/passwd'}]", "want an absolute http or https URL"},
		{"url list", "sinks: [{name: a, type: webhook, url: [a]}]", "field url (line 1): want a single value"},
		{"bad kind", "sinks: [{name: a, type: webhook, url: 'http://h', kinds: [finding, incident]}]", `field kinds (line 1): "incident"`},
		{"dup kind", "sinks: [{name: a, type: webhook, url: 'http://h', kinds: [alert, alert]}]", "given twice"},
		{"kinds scalar", "sinks: [{name: a, type: webhook, url: 'http://h', kinds: alert}]", "field kinds (line 1): want a list"},
		{"bad severity", "sinks: [{name: a, type: webhook, url: 'http://h', min_severity: severe}]", `field min_severity (line 1): "severe"`},
		{"vendor severity", "sinks: [{name: a, type: webhook, url: 'http://h', min_severity: important}]", "field min_severity"},
		{"bad resource kind", "sinks: [{name: a, type: webhook, url: 'http://h', resource_kinds: [vm]}]", `field resource_kinds (line 1): "vm"`},
		{"bad header name", "sinks: [{name: a, type: webhook, url: 'http://h', headers: {'X Bad': v}}]", "is not a header name"},
		{"header line break", "sinks: [{name: a, type: webhook, url: 'http://h', headers: {X-A: \"v\\r\\nX-B: w\"}}]", "line break"},
		{"header in both", "sinks: [{name: a, type: webhook, url: 'http://h', headers: {X-A: v}, header_files: {X-A: f}}]", "also in headers"},
		{"queue bytes", "sinks: [{name: a, type: webhook, url: 'http://h', max_queue_bytes: -1}]", "positive whole number"},
		{"queue bytes text", "sinks: [{name: a, type: webhook, url: 'http://h', max_queue_bytes: lots}]", "positive whole number"},
		{"no address", "sinks: [{name: a, type: syslog}]", "field address (line 1): required"},
		{"address scheme", "sinks: [{name: a, type: syslog, address: 'http://h:514'}]", `scheme "http"`},
		{"address port", "sinks: [{name: a, type: syslog, address: 'udp://h:99999'}]", "port out of"},
		{"address unix relative", "sinks: [{name: a, type: syslog, address: 'unix://dev/log'}]", "absolute socket path"},
		{"syntax", "sinks: [{name: a\n", "YAML syntax error at line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadConfigResolvesSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"secrets/url": "https://h.example/hook/abc\n", "secrets/auth": "Bearer t0k\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "notify.yaml")
	if err := os.WriteFile(p, []byte("sinks: [{name: a, type: webhook, url_file: secrets/url, header_files: {Authorization: secrets/auth}}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sinks[0]
	u, err := s.resolveURL(cfg.BaseDir)
	if err != nil || u != "https://h.example/hook/abc" {
		t.Errorf("url %q, %v", u, err)
	}
	h, err := s.resolveHeaders(cfg.BaseDir)
	if err != nil || h["Authorization"] != "Bearer t0k" {
		t.Errorf("headers %v, %v", h, err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFilterAccepts(t *testing.T) {
	s := SinkConfig{Kinds: []Kind{KindFinding}, MinSeverity: model.SeverityHigh, ResourceKinds: []model.ResourceKind{model.KindImage}}
	for _, c := range []struct {
		e    Event
		want bool
	}{
		{ev(KindFinding, model.SeverityCritical, model.KindImage, "1"), true},
		{ev(KindFinding, model.SeverityHigh, model.KindImage, "2"), true},
		{ev(KindFinding, model.SeverityMedium, model.KindImage, "3"), false},
		{ev(KindFinding, model.SeverityUnknown, model.KindImage, "4"), false},
		{ev(KindAlert, model.SeverityCritical, model.KindImage, "5"), false},
		{ev(KindFinding, model.SeverityCritical, model.KindContainer, "6"), false},
	} {
		if got := s.accepts(c.e); got != c.want {
			t.Errorf("%s %s %s: %v, want %v", c.e.Kind, c.e.Severity, c.e.Resource.Kind, got, c.want)
		}
	}
	if !(SinkConfig{}).accepts(ev(KindAlert, model.SeverityUnknown, model.KindHost, "7")) {
		t.Error("a sink without filters refused an event")
	}
}
