package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

// BenchmarkAgentClusterSync: `bulwark agent cluster` starting against a
// real API server holding BULWARK_AGENT_PODS pods (default 5,000): the
// informers' initial sync, the first complete report stored by a real
// server, and the agent's peak RSS. Run once: -benchtime 1x
// (bench/agent-cluster.sh).
func BenchmarkAgentClusterSync(b *testing.B) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("BULWARK_AGENT_PODS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	c := kubeenv.Start(b, kubeenv.Options{})
	cfg := rest.CopyConfig(c.Admin)
	cfg.QPS, cfg.Burst = 2000, 2000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c.CreateNamespace(b, "bench", nil)
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Namespace: "bench", Labels: map[string]string{"app": "bench"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: fmt.Sprintf("registry.example/app-%d:1.0", i%50)}}}}
				if _, err := cs.CoreV1().Pods("bench").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	b.Logf("%d pods created in %s", n, time.Since(start).Round(time.Millisecond))

	dir := b.TempDir()
	addr := "127.0.0.1:" + itoa(testproc.FreePort(b))
	testproc.Start(b, dir, "server", bulwark.Path(b), "--cache-dir", b.TempDir(), "server", "--data-dir", dir, "--listen", addr, "--db-update-interval", "0")
	base := "http://" + addr
	for range 200 {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tok := func(args ...string) string {
		out := runBulwarkTB(b, append([]string{"token", "create", "--data-dir", dir}, args...)...)
		return strings.TrimSpace(out)
	}
	enrol := tok("--name", "enrol", "--scope", "enroll", "--expires", "1h")
	read := tok("--name", "reader", "--scope", "read")
	kc := c.Kubeconfig(b, c.Admin, "")
	b.ResetTimer()
	t0 := time.Now()
	agent := testproc.Start(b, b.TempDir(), "agent", bulwark.Path(b), "--cache-dir", b.TempDir(), "agent", "cluster", "--kubeconfig", kc,
		"--server", base, "--token", enrol, "--cluster-name", "bench")
	synced := regexp.MustCompile(`cluster agent synced.* in=(\S+)`)
	var syncIn time.Duration
	for time.Since(t0) < 2*time.Minute && syncIn == 0 {
		if m := synced.FindStringSubmatch(agent.Tail(20)); m != nil {
			syncIn, _ = time.ParseDuration(m[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The first complete report is stored: the bench namespace's pods are
	// on the server.
	var stored time.Duration
	for time.Since(t0) < 3*time.Minute {
		req, _ := http.NewRequest("GET", base+"/api/v1/resources?kind=workload&name=p-"+fmt.Sprintf("%05d", n-1), nil)
		req.Header.Set("Authorization", "Bearer "+read)
		if r, err := http.DefaultClient.Do(req); err == nil {
			var body [512]byte
			k, _ := r.Body.Read(body[:])
			r.Body.Close()
			if strings.Contains(string(body[:k]), `"id"`) {
				stored = time.Since(t0)
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	if syncIn == 0 || stored == 0 {
		b.Fatalf("agent did not sync (%s) or report (%s):\n%s", syncIn, stored, agent.Tail(20))
	}
	status := func(field string) float64 {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", agent.Pid()))
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
		return 0
	}
	b.ReportMetric(syncIn.Seconds(), "sync-s")
	b.ReportMetric(stored.Seconds(), "first-report-s")
	b.ReportMetric(status("VmHWM:"), "peak-RSS-MiB")
	// BULWARK_AGENT_IDLE=SECONDS: the RSS once the cluster is quiet that
	// long (the agent gives back what the sync took after 5 s of quiet).
	if s, _ := strconv.Atoi(os.Getenv("BULWARK_AGENT_IDLE")); s > 0 {
		time.Sleep(time.Duration(s) * time.Second)
		b.ReportMetric(status("VmRSS:"), "idle-RSS-MiB")
	}
	b.ReportMetric(float64(n), "pods")
}

func runBulwarkTB(tb testing.TB, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := execCommand(ctx, bulwark.Path(tb), args...)
	if err != nil {
		tb.Fatalf("bulwark %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func execCommand(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	return string(out), err
}
