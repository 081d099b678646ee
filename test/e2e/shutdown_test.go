package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/testpki"
)

// podReview is an AdmissionReview of a Pod, privileged or not.
func podReview(i int, privileged bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "operation": "CREATE", "namespace": "team-a", "name": fmt.Sprintf("p%d", i),
			"kind":     map[string]string{"group": "", "version": "v1", "kind": "Pod"},
			"resource": map[string]string{"group": "", "version": "v1", "resource": "pods"},
			"userInfo": map[string]any{"username": "alice"},
			"object": map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": fmt.Sprintf("p%d", i), "namespace": "team-a"},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": pinnedImage,
					"securityContext": map[string]any{"privileged": privileged}}}}},
		},
	})
	return b
}

// TestAdmissionSIGTERMUnderLoad sends reviews to the real binary from 16
// clients with keep-alive pools, as the API server does, and sends it
// SIGTERM mid-load: readiness fails at once, the reviews keep being
// answered through the drain delay, none is denied or failed for the
// shutdown, and the process exits 0.
func TestAdmissionSIGTERMUnderLoad(t *testing.T) {
	ca := testpki.NewCA(t)
	w := startWebhook(t, ca, "sigterm", "", "--drain-delay", "2s")
	var sent, failed, transport, wrong atomic.Int64
	var first atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i += 16 {
				select {
				case <-stop:
					return
				default:
				}
				priv := i%4 == 0
				sent.Add(1)
				resp, err := w.hc.Post(w.URL+"?timeout=5s", "application/json", bytes.NewReader(podReview(i, priv)))
				if err != nil {
					transport.Add(1)
					first.CompareAndSwap(nil, err.Error())
					continue
				}
				var rev struct {
					Response struct {
						Allowed bool `json:"allowed"`
						Status  *struct {
							Code    int    `json:"code"`
							Message string `json:"message"`
						} `json:"status"`
					} `json:"response"`
				}
				err = json.NewDecoder(resp.Body).Decode(&rev)
				resp.Body.Close()
				switch {
				case err != nil:
					wrong.Add(1)
				case rev.Response.Status != nil && rev.Response.Status.Code == http.StatusInternalServerError:
					failed.Add(1)
					first.CompareAndSwap(nil, rev.Response.Status.Message)
				case rev.Response.Allowed == priv:
					wrong.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	stopped := make(chan struct{})
	go func() { w.proc.Stop(); close(stopped) }() // SIGTERM, then waits for the exit
	time.Sleep(200 * time.Millisecond)
	resp, err := w.hc.Get(w.base + "/readyz")
	if err != nil {
		t.Fatalf("readyz during the drain: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz after SIGTERM: HTTP %d, want 503", resp.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond) // load through most of the 2 s drain delay
	close(stop)
	wg.Wait()
	<-stopped
	log, _ := os.ReadFile(w.proc.Log())
	t.Logf("%d reviews sent; %d failed, %d transport errors, %d wrong", sent.Load(), failed.Load(), transport.Load(), wrong.Load())
	if failed.Load() != 0 || transport.Load() != 0 || wrong.Load() != 0 || sent.Load() < 50 {
		t.Errorf("%d of %d reviews failed, %d transport errors, %d wrong verdicts; first: %v\nlog:\n%s",
			failed.Load(), sent.Load(), transport.Load(), wrong.Load(), first.Load(), w.proc.Tail(20))
	}
	if err := w.proc.Exited(); err == nil || !strings.Contains(err.Error(), "exited early (<nil>)") {
		t.Errorf("webhook did not exit 0 on SIGTERM: %v", err)
	}
	if !bytes.Contains(log, []byte("admission webhook draining")) || !bytes.Contains(log, []byte("admission webhook stopped")) {
		t.Errorf("the log does not show the drain:\n%s", w.proc.Tail(20))
	}
}
