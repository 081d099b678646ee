package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestMain lets a test run this binary's main as a child process (the
// server a test kills): BULWARK_TEST_RUN_MAIN=1 runs main with the args.
func TestMain(m *testing.M) {
	if os.Getenv("BULWARK_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServerProcess(t *testing.T, dataDir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--cache-dir", t.TempDir(), "server", "--data-dir", dataDir, "--listen", addr, "--db-update-interval", "0")
	cmd.Env = append(os.Environ(), "BULWARK_TEST_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not become ready")
	return nil
}

// TestServerKilledMidIngestion: a server killed with SIGKILL while reports
// stream in leaves every report either whole or absent, the store intact;
// sending them again after the restart stores each exactly once.
func TestServerKilledMidIngestion(t *testing.T) {
	dataDir := t.TempDir()
	addr := freePort(t)
	srv := startServerProcess(t, dataDir, addr)
	tok, code := run(t, "token", "create", "--data-dir", dataDir, "--name", "crash", "--scope", "ingest,read")
	if code != 0 {
		t.Fatal("token create failed")
	}
	tok = strings.TrimSpace(tok)
	const batches, per = 24, 1000
	batch := func(b int) []model.Alert {
		out := make([]model.Alert, per)
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for j := range out {
			out[j] = model.Alert{ID: fmt.Sprintf("b%02d-%04d", b, j), Type: "K8S_PrivilegedContainer", Title: "t", Severity: model.SeverityHigh, Count: 1,
				FirstSeen: t0, LastSeen: t0, Resource: model.Resource{Kind: model.KindWorkload, ID: fmt.Sprintf("uid/ns/Pod/p%d", j%50)}, Status: model.AlertActive}
		}
		return out
	}
	stored := make(chan struct{}, batches)
	send := func(url string, from int, kill func()) {
		c, _ := client.New(url, tok, client.Options{Retries: 0, Timeout: 20 * time.Second})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := from + w; b < batches; b += 4 {
					if _, err := c.PostJSON(context.Background(), "alerts", batch(b)); err == nil {
						stored <- struct{}{}
					}
				}
			}()
		}
		if kill != nil {
			kill()
		}
		wg.Wait()
	}
	// Killed once the first report is stored: the others are in flight.
	send("http://"+addr, 0, func() {
		<-stored
		srv.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	})
	srv.Wait() //nolint:errcheck

	counts := func() map[string]int {
		st, err := store.Open(context.Background(), "", dataDir, store.Options{})
		if err != nil {
			t.Fatalf("store after the kill: %v", err)
		}
		defer st.Close()
		var ok string
		if err := st.DB().QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("integrity check: %q %v", ok, err)
		}
		rows, err := st.DB().Query(`SELECT substr(id, 1, 3), COUNT(*) FROM alerts GROUP BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			rows.Scan(&k, &n) //nolint:errcheck
			out[k] = n
		}
		return out
	}
	got := counts()
	whole := 0
	for k, n := range got {
		if n != per {
			t.Errorf("batch %s stored %d of %d alerts: a report was cut by the kill", k, n, per)
		}
		whole++
	}
	if whole == batches {
		t.Log("every batch landed before the kill; the test did not interrupt one")
	}
	t.Logf("%d of %d batches stored before SIGKILL", whole, batches)
	// Restart and send everything again: each batch once, whole.
	startServerProcess(t, dataDir, addr)
	send("http://"+addr, 0, nil)
	got = counts()
	if len(got) != batches {
		t.Errorf("after re-sending: %d batches stored, want %d", len(got), batches)
	}
	for k, n := range got {
		if n != per {
			t.Errorf("batch %s: %d alerts after re-sending, want %d exactly", k, n, per)
		}
	}
}
