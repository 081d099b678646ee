package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func TestFilters(t *testing.T) {
	critOnly, slack, all := newReceiver(t), newReceiver(t), newReceiver(t)
	d := start(t, t.TempDir(), fmt.Sprintf(`
sinks:
  - name: findings-high
    type: webhook
    url: %s/hook
    kinds: [finding]
    min_severity: high
  - name: chat
    type: slack
    url: %s/slack
    resource_kinds: [container, pod]
  - name: everything
    type: webhook
    url: %s/all
`, critOnly.srv.URL, slack.srv.URL, all.srv.URL), Options{})

	events := []Event{
		ev(KindFinding, model.SeverityCritical, model.KindImage, "f-crit"),
		ev(KindFinding, model.SeverityMedium, model.KindImage, "f-med"),
		ev(KindFinding, model.SeverityHigh, model.KindContainer, "f-high-ctr"),
		ev(KindAlert, model.SeverityCritical, model.KindContainer, "a-crit-ctr"),
		ev(KindRecommendation, model.SeverityLow, model.KindPod, "r-low-pod"),
		ev(KindRecommendation, model.SeverityUnknown, model.KindNode, "r-unknown-node"),
	}
	if err := d.Notify(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{ // sink → indexes of events it must get, in order
		"findings-high": {0, 2},
		"chat":          {2, 3, 4},
		"everything":    {0, 1, 2, 3, 4, 5},
	}
	for name, r := range map[string]*receiver{"findings-high": critOnly, "chat": slack, "everything": all} {
		waitFor(t, name+" deliveries", func() bool { return statsOf(d, name).Sent == int64(len(want[name])) })
		st := statsOf(d, name)
		if st.Filtered != int64(len(events)-len(want[name])) || st.Failed != 0 || st.Dropped != 0 || st.Queued != 0 {
			t.Errorf("%s stats %+v", name, st)
		}
		if name == "chat" {
			for i, b := range r.accepted() {
				if e := events[want[name][i]]; !strings.Contains(string(b), e.ID) {
					t.Errorf("chat message %d does not carry %s: %s", i, e.ID, b)
				}
			}
			continue
		}
		var wantIDs []string
		for _, i := range want[name] {
			wantIDs = append(wantIDs, events[i].ID)
		}
		if got := r.ids(t); !slices.Equal(got, wantIDs) {
			t.Errorf("%s got %v, want %v", name, got, wantIDs)
		}
	}
}

func TestRetryOn503(t *testing.T) {
	r := newReceiver(t)
	r.setAnswer(func(n int, _ []byte) (int, http.Header) {
		if n <= 2 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusNoContent, nil
	})
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{})
	e := ev(KindFinding, model.SeverityHigh, model.KindImage, "x")
	if err := d.Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return statsOf(d, "hook").Sent == 1 })
	if st := statsOf(d, "hook"); st.Retried != 2 || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want 2 retries", st)
	}
	if got := r.ids(t); !slices.Equal(got, []string{e.ID}) {
		t.Errorf("accepted %v", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	r := newReceiver(t)
	r.setAnswer(func(n int, _ []byte) (int, http.Header) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, nil
	})
	// Backoff alone would retry within 50 ms; Retry-After asks for 1 s.
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{MaxBackoff: 3 * time.Second})
	if err := d.Notify(context.Background(), ev(KindAlert, model.SeverityHigh, model.KindContainer, "y")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return statsOf(d, "hook").Sent == 1 })
	r.mu.Lock()
	gap := r.times[1].Sub(r.times[0])
	r.mu.Unlock()
	if gap < 950*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestClientErrorIsDroppedAndCounted(t *testing.T) {
	r := newReceiver(t)
	r.setAnswer(func(n int, body []byte) (int, http.Header) {
		if strings.Contains(string(body), "title bad") {
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	})
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{})
	bad, good := ev(KindAlert, model.SeverityHigh, model.KindContainer, "bad"), ev(KindAlert, model.SeverityHigh, model.KindContainer, "good")
	if err := d.Notify(context.Background(), bad, good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return statsOf(d, "hook").Sent == 1 })
	if st := statsOf(d, "hook"); st.Failed != 1 || st.Retried != 0 || st.Queued != 0 {
		t.Errorf("stats %+v: want the 400 counted failed, not retried", st)
	}
	r.mu.Lock()
	attempts := r.attempts
	r.mu.Unlock()
	if attempts != 2 {
		t.Errorf("%d requests, want 2 (the 400 is not retried)", attempts)
	}
	if got := r.ids(t); !slices.Equal(got, []string{good.ID}) {
		t.Errorf("accepted %v", got)
	}
}

// TestQueueSurvivesRestart: what a Dispatcher could not deliver is sent by
// the next one on the same queue, each event once, in order.
func TestQueueSurvivesRestart(t *testing.T) {
	hook, chat := newReceiver(t), newReceiver(t)
	// The first Dispatcher's requests (X-Gen: 1) fail, the second's
	// succeed: decided by the request itself, so a request of the first
	// still in the receiver's hands as it closes cannot count as accepted.
	byGen := func(_ int, _ []byte, h http.Header) int {
		if h.Get("X-Gen") == "1" {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	hook.setGenAnswer(byGen)
	chat.setGenAnswer(byGen)
	dir := t.TempDir()
	cfg := `
sinks:
  - {name: hook, type: webhook, url: %[1]s, queue_dir: q/hook, headers: {X-Gen: "%[3]d"}}
  - {name: chat, type: slack, url: %[2]s, queue_dir: q/chat, headers: {X-Gen: "%[3]d"}}
`
	d1 := start(t, dir, fmt.Sprintf(cfg, hook.srv.URL, chat.srv.URL, 1), Options{})
	var want []string
	for i := range 25 {
		e := ev(KindFinding, model.SeverityCritical, model.KindImage, fmt.Sprint("restart-", i))
		want = append(want, e.ID)
		if err := d1.Notify(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a failed attempt on each", func() bool {
		return statsOf(d1, "hook").Retried > 0 && statsOf(d1, "chat").Retried > 0
	})
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	if st := statsOf(d1, "hook"); st.Queued != 25 || st.Sent != 0 {
		t.Fatalf("after close: %+v, want 25 queued", st)
	}
	d2 := start(t, dir, fmt.Sprintf(cfg, hook.srv.URL, chat.srv.URL, 2), Options{})
	waitFor(t, "redelivery", func() bool {
		return statsOf(d2, "hook").Sent == 25 && statsOf(d2, "chat").Sent == 25
	})
	if got := hook.ids(t); !slices.Equal(got, want) {
		t.Errorf("webhook received %v\nwant %v", got, want)
	}
	for i, b := range chat.accepted() {
		if !strings.Contains(string(b), want[i]) {
			t.Errorf("chat message %d is not event %s: %s", i, want[i], b)
		}
	}
	if n := len(chat.accepted()); n != 25 {
		t.Errorf("chat received %d messages, want 25", n)
	}
	if st := statsOf(d2, "hook"); st.Queued != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("after redelivery: %+v", st)
	}
}

func TestOversize(t *testing.T) {
	r := newReceiver(t)
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+", max_queue_bytes: 2048}]", Options{})
	// Far beyond the event bound: cut to maxDetail, still beyond this queue.
	huge := ev(KindFinding, model.SeverityHigh, model.KindImage, "huge")
	huge.Detail = strings.Repeat("ä", 1<<20)
	small := ev(KindFinding, model.SeverityHigh, model.KindImage, "small")
	err := d.Notify(context.Background(), huge, small)
	if err == nil || !strings.Contains(err.Error(), huge.ID) {
		t.Errorf("Notify: %v, want an error naming the oversize event", err)
	}
	waitFor(t, "delivery", func() bool { return statsOf(d, "hook").Sent == 1 })
	if st := statsOf(d, "hook"); st.Failed != 1 || st.Queued != 0 {
		t.Errorf("stats %+v: want the oversize event failed", st)
	}
	if got := r.ids(t); !slices.Equal(got, []string{small.ID}) {
		t.Errorf("accepted %v", got)
	}

	// With room, the same event goes out cut to its bound, valid UTF-8.
	r2 := newReceiver(t)
	d2 := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r2.srv.URL+"}]", Options{})
	if err := d2.Notify(context.Background(), huge); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return statsOf(d2, "hook").Sent == 1 })
	var got Event
	if err := json.Unmarshal(r2.accepted()[0], &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Detail) > maxDetail || !strings.HasSuffix(got.Detail, "…") || !strings.HasPrefix(got.Detail, "ää") {
		t.Errorf("detail of %d bytes not cut to %d: …%q", len(got.Detail), maxDetail, got.Detail[max(0, len(got.Detail)-8):])
	}
}

func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	const (
		pathToken   = "T0SECRETPATHTOKEN9876543210"
		queryToken  = "q-secret-4711"
		headerValue = "Bearer hdr-secret-0815"
	)
	r := newReceiver(t)
	r.setAnswer(func(int, []byte) (int, http.Header) { return http.StatusNotFound, nil })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "url"), []byte(r.srv.URL+"/services/"+pathToken+"?token="+queryToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auth"), []byte(headerValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on: connection refused, an error that names the URL.
	closed := newReceiver(t)
	closedURL := closed.srv.URL
	closed.srv.Close()
	var logs logBuffer
	d := start(t, dir, fmt.Sprintf(`
sinks:
  - {name: refused, type: slack, url_file: url, header_files: {Authorization: auth}}
  - {name: gone, type: webhook, url: "%s/hooks/%s?token=%s", headers: {X-Api-Key: "%s"}}
`, closedURL, pathToken, queryToken, headerValue), Options{Logger: logs.logger()})
	e := ev(KindAlert, model.SeverityCritical, model.KindContainer, "s")
	if err := d.Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 404 and a refused attempt", func() bool {
		return statsOf(d, "refused").Failed == 1 && statsOf(d, "gone").Retried >= 1
	})
	d.Close()
	r.mu.Lock()
	gotAuth := r.headers[0].Get("Authorization")
	r.mu.Unlock()
	if gotAuth != headerValue {
		t.Errorf("header from header_files not sent: %q", gotAuth)
	}
	// Config errors about the same values.
	_, errParse := ParseConfig([]byte(`sinks: [{name: x, type: webhook, url: "ftp://h/` + pathToken + `"}]`))
	_, errType := ParseConfig([]byte(`sinks: [{name: x, type: webhook, url: {a: "` + pathToken + `"}}]`))
	_, errSyntax := ParseConfig([]byte("sinks:\n  - name: x\n    url: \"" + pathToken + "\n  bad: [\n"))
	text := logs.String() + fmt.Sprint(errParse, errType, errSyntax) + fmt.Sprint(d.Stats())
	if errParse == nil || errType == nil || errSyntax == nil {
		t.Fatalf("want three config errors, got %v, %v, %v", errParse, errType, errSyntax)
	}
	if !strings.Contains(logs.String(), "404") || !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("logs do not show the failures with a redacted URL:\n%s", logs.String())
	}
	for _, s := range []string{pathToken, queryToken, headerValue, "hdr-secret"} {
		if strings.Contains(text, s) {
			t.Errorf("secret %q appears in logs or errors:\n%s", s, text)
		}
	}
}

func TestNotifyRefusesInvalidEvents(t *testing.T) {
	r := newReceiver(t)
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{})
	ok := ev(KindAlert, model.SeverityHigh, model.KindContainer, "ok")
	for _, bad := range []Event{
		{},
		{ID: "x", Kind: "incident", Severity: model.SeverityHigh, Title: "t", Resource: Resource{Kind: model.KindPod, ID: "p"}},
		{ID: "x", Kind: KindAlert, Severity: "HIGH", Title: "t", Resource: Resource{Kind: model.KindPod, ID: "p"}},
		{ID: "x", Kind: KindAlert, Severity: model.SeverityHigh, Title: "t", Resource: Resource{Kind: model.KindPod}},
		{ID: "x", Kind: KindAlert, Severity: model.SeverityHigh, Title: "t", Resource: Resource{Kind: model.KindPod, ID: "p"}, URL: "javascript:alert(1)"},
	} {
		if err := d.Notify(context.Background(), bad, ok); err == nil {
			t.Errorf("Notify(%+v) accepted", bad)
		}
	}
	waitFor(t, "deliveries", func() bool { return statsOf(d, "hook").Sent == 5 })
	if got := r.ids(t); len(got) != 5 || got[0] != ok.ID {
		t.Errorf("accepted %v, want only the valid event", got)
	}
}

func TestClosedDispatcher(t *testing.T) {
	r := newReceiver(t)
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{})
	d.Close()
	if err := d.Notify(context.Background(), ev(KindAlert, model.SeverityHigh, model.KindPod, "z")); err == nil {
		t.Error("Notify after Close succeeded")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		cfg  Config
		opts Options
		want string
	}{
		"shared queue": {Config{Sinks: []SinkConfig{
			{Name: "a", Type: SinkWebhook, URL: "http://127.0.0.1:1/", QueueDir: dir},
			{Name: "b", Type: SinkSlack, URL: "http://127.0.0.1:1/", QueueDir: dir},
		}}, Options{}, `also sink "a"'s`},
		"no queue dir":     {Config{Sinks: []SinkConfig{{Name: "a", Type: SinkWebhook, URL: "http://127.0.0.1:1/"}}}, Options{}, "queue_dir"},
		"missing url file": {Config{Sinks: []SinkConfig{{Name: "a", Type: SinkWebhook, URLFile: "nope"}}, BaseDir: dir}, Options{StateDir: dir}, "url_file"},
		"bad url in file":  {Config{Sinks: []SinkConfig{{Name: "a", Type: SinkWebhook, URLFile: "f"}}, BaseDir: dir}, Options{StateDir: dir}, "want one absolute http"},
		"bad type":         {Config{Sinks: []SinkConfig{{Name: "a", Type: "email"}}}, Options{}, "want webhook, slack or syslog"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte("file:///etc/passwd"), 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := New(c.cfg, c.opts)
			if err == nil {
				d.Close()
				t.Fatal("New accepted it")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
		})
	}
}

func TestStateDirDefault(t *testing.T) {
	r := newReceiver(t)
	state := t.TempDir()
	r.setAnswer(func(int, []byte) (int, http.Header) { return http.StatusServiceUnavailable, nil })
	d := start(t, t.TempDir(), "sinks: [{name: hook, type: webhook, url: "+r.srv.URL+"}]", Options{StateDir: state})
	if err := d.Notify(context.Background(), ev(KindAlert, model.SeverityHigh, model.KindPod, "q")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	des, err := os.ReadDir(filepath.Join(state, "notify", "hook"))
	if err != nil || len(des) != 1 {
		t.Errorf("queue under the state dir: %v, %v", des, err)
	}
}

func TestPlainHTTPWarned(t *testing.T) {
	var logs logBuffer
	start(t, t.TempDir(), "sinks: [{name: remote, type: webhook, url: 'http://192.0.2.1/hook'}, {name: local, type: webhook, url: 'http://127.0.0.1:1/hook'}]",
		Options{Logger: logs.logger()})
	out := logs.String()
	if strings.Count(out, "plain http") != 1 || !strings.Contains(out, "plain http: its URL, headers and events travel unencrypted\" notify_sink=remote") {
		t.Errorf("want one plain-http warning, for the remote sink:\n%s", out)
	}
}
