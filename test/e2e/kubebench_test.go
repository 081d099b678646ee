package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

// TestKubeBenchAgreement runs kube-bench beside `bench k8s` on the same
// nodes — the live hardened and insecure control planes of
// TestBenchK8sNodeFlags and the crafted host trees of internal/k8sbench —
// and writes every verdict pair to $BULWARK_AGREEMENT_OUT (TSV: scenario,
// check, kube-bench, bulwark). kube-bench is not part of the repository:
// build it from its own source and point $BULWARK_KUBE_BENCH at the binary
// and $BULWARK_KUBE_BENCH_CFG at its cfg directory; without them the test
// skips (it is a measurement, not a CI gate). kube-bench finds processes
// with ps, so other kube-apiservers running on the machine can disturb it.
func TestKubeBenchAgreement(t *testing.T) {
	kb, cfg, out := os.Getenv("BULWARK_KUBE_BENCH"), os.Getenv("BULWARK_KUBE_BENCH_CFG"), os.Getenv("BULWARK_AGREEMENT_OUT")
	if kb == "" || cfg == "" || out == "" {
		t.Skip("set BULWARK_KUBE_BENCH (kube-bench binary), BULWARK_KUBE_BENCH_CFG (its cfg dir) and BULWARK_AGREEMENT_OUT to compare with kube-bench")
	}
	var rows []string
	add := func(scenario string, kbRes map[string]string, bw benchReport) {
		bs := bw.statuses()
		ids := make([]string, 0, len(kbRes))
		for id := range kbRes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			rows = append(rows, strings.Join([]string{scenario, id, kbRes[id], bs["CIS-K8S-"+id]}, "\t"))
		}
	}
	cache := t.TempDir()

	// One subtest per scenario: its processes stop when it ends, so the
	// next scenario's ps sees only its own.
	t.Run("live-hardened", func(t *testing.T) {
		n := startBenchNode(t, kubeenv.Options{ExtraArgs: hardenedAPIServer(t)}, hardenedCM, hardenedSched)
		add("live-hardened", runKubeBench(t, kb, cfg, "master,etcd,controlplane"), n.bench(t, cache, "--targets", "master,etcd,controlplane"))
	})
	t.Run("live-insecure", func(t *testing.T) {
		n := startBenchNode(t, kubeenv.Options{ExtraArgs: insecureAPIServer, AuthorizationMode: "RBAC"}, nil, []string{"--profiling=true"})
		add("live-insecure", runKubeBench(t, kb, cfg, "master,etcd,controlplane"), n.bench(t, cache, "--targets", "master,etcd,controlplane"))
	})
	for _, host := range []string{"kubeadm-hardened", "kubeadm-insecure"} {
		t.Run(host, func(t *testing.T) {
			root := buildCraftedHost(t, host)
			proc := startTreeProcesses(t, root)
			kbRes := runKubeBench(t, kb, rootedKubeBenchConfig(t, cfg, root), "master,etcd,controlplane,node")
			bwOut := runBulwark(t, nil, nil, "bench", "k8s", "--node", "--root", root, "--proc", proc, "--node-name", host, "-f", "json")
			var bw benchReport
			if err := json.Unmarshal(bwOut, &bw); err != nil {
				t.Fatal(err)
			}
			add("tree-"+host, kbRes, bw)
		})
	}
	if err := os.WriteFile(out, []byte("scenario\tcheck\tkube-bench\tbulwark\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runKubeBench returns kube-bench's verdict per check number (PASS, FAIL,
// WARN, INFO) for scored and manual checks alike, with "M:" before the
// status of manual ones.
func runKubeBench(t *testing.T, bin, cfg, targets string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--config-dir", cfg, "--config", filepath.Join(cfg, "config.yaml"), "--benchmark", "cis-1.12", "--targets", targets, "--json")
	b, err := cmd.Output()
	if err != nil && len(b) == 0 {
		ee, _ := err.(*exec.ExitError)
		stderr := ""
		if ee != nil {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("kube-bench: %v\n%s", err, stderr)
	}
	var rep struct {
		Controls []struct {
			Tests []struct {
				Results []struct {
					Number string `json:"test_number"`
					Status string `json:"status"`
					Scored bool   `json:"scored"`
				} `json:"results"`
			} `json:"tests"`
		} `json:"Controls"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("kube-bench JSON: %v\n%s", err, b)
	}
	out := map[string]string{}
	for _, c := range rep.Controls {
		for _, tt := range c.Tests {
			for _, r := range tt.Results {
				s := r.Status
				if !r.Scored {
					s = "M:" + s
				}
				out[r.Number] = s
			}
		}
	}
	return out
}

// buildCraftedHost writes one of internal/k8sbench's crafted trees (see
// testdata/hosts there for the format) under a temp dir.
func buildCraftedHost(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "internal", "k8sbench", "testdata", "hosts", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := t.TempDir()
	type entry struct {
		path, owner string
		mode        uint64
		cmdline     bool
		lines       []string
	}
	var es []*entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") {
			fs := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(l, "-- "), " --"))
			mode, _ := strconv.ParseUint(fs[1], 8, 32)
			es = append(es, &entry{path: fs[0], mode: mode, owner: fs[2], cmdline: len(fs) > 3})
			continue
		}
		if len(es) > 0 {
			es[len(es)-1].lines = append(es[len(es)-1].lines, l)
		}
	}
	for _, e := range es {
		p := filepath.Join(root, e.path)
		if strings.HasSuffix(e.path, "/") {
			os.MkdirAll(p, 0o755)
		} else {
			os.MkdirAll(filepath.Dir(p), 0o755)
			data := strings.Join(e.lines, "\n") + "\n"
			if e.cmdline {
				data = strings.Join(e.lines, "\x00") + "\x00"
			}
			if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		u, g, _ := strings.Cut(e.owner, ":")
		uid, _ := strconv.Atoi(u)
		gid, _ := strconv.Atoi(g)
		os.Chmod(p, os.FileMode(e.mode))
		if err := os.Chown(p, uid, gid); err != nil {
			kubeenv.Skipf(t, "needs root to chown the crafted tree: %v", err)
		}
	}
	return root
}

// startTreeProcesses starts, for a crafted tree, stand-in processes named
// like the components its static pod manifests and /proc entries describe
// (with their command lines), so kube-bench's ps and bulwark's /proc both
// see them; it returns a proc dir linking to just those processes.
func startTreeProcesses(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	fake := filepath.Join(dir, "fakecomponent")
	if out, err := exec.Command("go", "build", "-o", fake, "github.com/bulwarkdev/bulwark/test/fakecomponent").CombinedOutput(); err != nil {
		t.Fatalf("building fakecomponent: %v\n%s", err, out)
	}
	cmdlines := map[string][]string{}
	manifests, _ := filepath.Glob(filepath.Join(root, "etc/kubernetes/manifests/*.yaml"))
	argRE := regexp.MustCompile(`^\s*- (--\S+)|^\s*command: \[(.*)\]`)
	for _, m := range manifests {
		b, _ := os.ReadFile(m)
		var args []string
		for _, l := range strings.Split(string(b), "\n") {
			mm := argRE.FindStringSubmatch(l)
			switch {
			case mm == nil:
			case mm[1] != "":
				args = append(args, mm[1])
			default:
				for _, a := range strings.Split(mm[2], ",") {
					if a = strings.TrimSpace(a); strings.HasPrefix(a, "--") {
						args = append(args, a)
					}
				}
			}
		}
		cmdlines[strings.TrimSuffix(filepath.Base(m), ".yaml")] = args
	}
	procs, _ := filepath.Glob(filepath.Join(root, "proc/*/cmdline"))
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		cmdlines[filepath.Base(argv[0])] = argv[1:]
	}
	if err := os.RemoveAll(filepath.Join(root, "proc")); err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join(dir, "proc")
	os.Mkdir(proc, 0o755)
	for name, args := range cmdlines {
		bin := filepath.Join(dir, name)
		if err := os.Link(fake, bin); err != nil {
			t.Fatal(err)
		}
		p := testproc.Start(t, dir, name, bin, args...)
		os.Symlink(fmt.Sprintf("/proc/%d", p.Pid()), filepath.Join(proc, strconv.Itoa(p.Pid())))
	}
	time.Sleep(200 * time.Millisecond)
	return proc
}

// rootedKubeBenchConfig copies kube-bench's cfg with every absolute path of
// a node file under root, so it reads the crafted tree as bulwark does with
// --root (kube-bench has no such option).
func rootedKubeBenchConfig(t *testing.T, cfg, root string) string {
	t.Helper()
	dst := t.TempDir()
	pathRE := regexp.MustCompile(`(["'\s:=])(/(?:etc|var|lib|usr)/[^\s"',]*)`)
	err := filepath.Walk(cfg, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(cfg, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b = pathRE.ReplaceAll(b, []byte("${1}"+root+"${2}"))
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
