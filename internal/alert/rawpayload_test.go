package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestPushBatch: a batch lands in order after what is queued, survives a
// reload, and an entry larger than the queue fails alone.
func TestPushBatch(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	q, err := openQueue(dir, 4096, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.push([]byte(`{"id":"first"}`)); err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"id":"` + strings.Repeat("x", 5000) + `"}`)
	batch := [][]byte{[]byte(`{"id":"b1"}`), big, []byte(`{"id":"b2"}`), []byte(`{"id":"b3"}`)}
	errs := q.pushBatch(batch)
	for i, err := range errs {
		if (err != nil) != (i == 1) {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	q2, err := openQueue(dir, 4096, log)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		seq, p, ok := q2.head()
		if !ok {
			break
		}
		got = append(got, string(p))
		if err := q2.remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"id":"first"}`, `{"id":"b1"}`, `{"id":"b2"}`, `{"id":"b3"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reloaded %v, want %v", got, want)
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Errorf("left behind %d files", len(des))
	}
}

func TestSendJSONRefusesNonJSON(t *testing.T) {
	w, err := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:1/", QueueDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.SendJSON(context.Background(), []byte(`{"a":`)); err == nil {
		t.Error("SendJSON took a broken document")
	}
	if err := w.SendJSONBatch(context.Background(), [][]byte{[]byte(`[1]`), []byte(`nope`)}); err == nil || !strings.Contains(err.Error(), "payload 1") {
		t.Errorf("SendJSONBatch: %v", err)
	}
	if st := w.Stats(); st.Failed != 2 || st.Queued != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSendMessage: a message that is not an alert gets the same header and
// escaping; parameters with bad names or no value are left out.
func TestSendMessage(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSyslog(SyslogOptions{Network: "udp", Addr: pc.LocalAddr().String(), Tag: "bulwark-test", Hostname: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.SendMessage(context.Background(), SyslogMessage{
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Severity: model.SeverityCritical, MsgID: "finding",
		Params: []SDParam{{"id", `a"b]c`}, {"bad name", "x"}, {"empty", ""}},
		Text:   "line one\nline two",
	})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9000)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse5424(string(buf[:n]))
	if err != nil {
		t.Fatal(err)
	}
	if m.pri != 13*8+2 || m.msgID != "finding" || m.params["id"] != `a"b]c` || len(m.params) != 1 || m.msg != "line one line two" {
		t.Errorf("got %+v", m)
	}
}
