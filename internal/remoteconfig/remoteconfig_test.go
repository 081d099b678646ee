package remoteconfig_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// server is a real API server over SQLite; it returns it with a read
// client (the engine's) and an admin client (the person changing the
// config).
func server(t *testing.T) (*httptest.Server, *client.Client, *client.Client) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(api.New(api.Options{Store: st}))
	t.Cleanup(srv.Close)
	mk := func(scopes string) *client.Client {
		_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: scopes, Scopes: scopes}, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(srv.URL, tok, client.Options{Timeout: 2 * time.Second, Retries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return srv, mk("read"), mk("admin,read")
}

// validate is the run-time engine's parser, plus a refusal the server
// does not make (a YAML comment it cannot see): the engine side may be
// stricter, e.g. an older agent.
func validate(b []byte) error {
	if bytes.Contains(b, []byte("# refuse")) {
		return errors.New("refused by the engine")
	}
	_, err := runtime.ParseExceptions("test", b)
	return err
}

// logs collects log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

const exceptionsV1 = "exceptions:\n  - rules: [K8S_PrivilegedContainer]\n    namespaces: [ci]\n    reason: CI builds\n"

func TestWatcher(t *testing.T) {
	srv, reader, admin := server(t)
	ctx := context.Background()
	cache := filepath.Join(t.TempDir(), "exceptions.json")
	lg := &logs{}
	w, err := remoteconfig.New(remoteconfig.Options{Source: reader, Name: "runtime-exceptions", CacheFile: cache, Validate: validate,
		Logger: slog.New(slog.NewTextHandler(lg, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.Load(ctx)
	if err != nil || d.Version != 0 || d.Body != "" || d.FromCache {
		t.Fatalf("Load of the unset document = %+v, %v", d, err)
	}
	var changes []remoteconfig.Doc
	onChange := func(_ context.Context, d remoteconfig.Doc) error { changes = append(changes, d); return nil }

	// Unchanged: a 304, nothing handed over.
	w.Poll(ctx, onChange)
	if len(changes) != 0 {
		t.Fatalf("unchanged document handed over: %+v", changes)
	}
	// A new version is handed over and kept on disk.
	if _, err := admin.PutConfigDoc(ctx, "runtime-exceptions", exceptionsV1); err != nil {
		t.Fatal(err)
	}
	w.Poll(ctx, onChange)
	if len(changes) != 1 || changes[0].Version != 1 || changes[0].Body != exceptionsV1 || changes[0].ETag == "" {
		t.Fatalf("changes = %+v", changes)
	}
	if b, err := os.ReadFile(cache); err != nil || !strings.Contains(string(b), "CI builds") {
		t.Fatalf("cached copy: %s %v", b, err)
	}
	w.Poll(ctx, onChange)
	if len(changes) != 1 {
		t.Errorf("the same version handed over twice: %d", len(changes))
	}

	// A version the engine refuses: never handed over nor cached, logged
	// once, the previous one stays.
	if _, err := admin.PutConfigDoc(ctx, "runtime-exceptions", "# refuse\n"+exceptionsV1); err != nil {
		t.Fatal(err)
	}
	w.Poll(ctx, onChange)
	w.Poll(ctx, onChange)
	if cur, _ := w.Current(); len(changes) != 1 || cur.Version != 1 || lg.count("is refused") != 1 {
		t.Errorf("refused version: changes %d, current v%d, %d refusals logged:\n%s", len(changes), cur.Version, lg.count("is refused"), lg.buf.String())
	}
	// A version the engine could not load (onChange fails) is not kept.
	if _, err := admin.PutConfigDoc(ctx, "runtime-exceptions", exceptionsV1+"  - rules: ['*']\n    hosts: [build-1]\n    reason: build host\n"); err != nil {
		t.Fatal(err)
	}
	w.Poll(ctx, func(context.Context, remoteconfig.Doc) error { return errors.New("engine could not load it") })
	if cur, _ := w.Current(); cur.Version != 1 {
		t.Errorf("a version the engine failed on is in force: v%d", cur.Version)
	}
	if b, _ := os.ReadFile(cache); strings.Contains(string(b), "build host") {
		t.Error("a version the engine failed on was cached")
	}

	// The server goes away: the outage is logged once, the copy stays.
	srv.Close()
	for range 3 {
		w.Poll(ctx, onChange)
	}
	if n := lg.count("server unreachable"); n != 1 {
		t.Errorf("outage logged %d times:\n%s", n, lg.buf.String())
	}
	// A restart while it is away starts from the last good copy on disk.
	w2, _ := remoteconfig.New(remoteconfig.Options{Source: reader, Name: "runtime-exceptions", CacheFile: cache, Validate: validate,
		Logger: slog.New(slog.NewTextHandler(lg, nil))})
	d, err = w2.Load(ctx)
	if err != nil || d.Version != 1 || d.Body != exceptionsV1 || !d.FromCache {
		t.Fatalf("Load after a restart with the server away = %+v, %v", d, err)
	}
	// Without a copy (or with a damaged one) there is nothing to start from.
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	w3, _ := remoteconfig.New(remoteconfig.Options{Source: reader, Name: "runtime-exceptions", CacheFile: cache, Validate: validate})
	if _, err := w3.Load(ctx); !errors.Is(err, remoteconfig.ErrNoConfig) {
		t.Errorf("Load with no server and a damaged copy = %v, want ErrNoConfig", err)
	}
}
