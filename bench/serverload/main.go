// Command serverload measures `bulwark server` at scale (bench/server.sh):
//
//	serverload load  -data-dir DIR [-database URL]   fill a store: 10,000 images, 1,000,000 findings,
//	                                                 200 Docker hosts, 5,000 workloads, 100,000 alerts
//	serverload query -server URL -token T            p50/p95/p99 of every list and detail call
//	serverload ingest -server URL -token T -rootfs TAR -n N   POST N image reports the server matches
//
// The data is synthetic but shaped like real fleets: images share base
// packages, findings follow real severity proportions, every workload and
// container runs an image from the set.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	bwingest "github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: serverload load|query|ingest …")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "server data directory (SQLite)")
	database := fs.String("database", "", "PostgreSQL URL")
	images := fs.Int("images", 10_000, "images")
	perImage := fs.Int("findings", 100, "findings per image")
	hosts := fs.Int("hosts", 200, "Docker hosts")
	workloads := fs.Int("workloads", 5_000, "workloads")
	alerts := fs.Int("alerts", 100_000, "alerts")
	server := fs.String("server", "", "server URL")
	token := fs.String("token", "", "API token")
	rounds := fs.Int("rounds", 200, "requests per call measured")
	rootfs := fs.String("rootfs", "", "Debian rootfs tar (its dpkg status gives the packages)")
	osvGo := fs.String("osv-go", "", "Go vulnerability DB export (OSV .tar.gz): every module it names, at v0.0.1, in reports of -per modules")
	perReport := fs.Int("per", 200, "packages per report with -osv-go")
	conc := fs.Int("c", 1, "concurrent clients with -osv-go (agents report at once)")
	n := fs.Int("n", 100, "reports to ingest")
	fs.Parse(os.Args[2:]) //nolint:errcheck
	ctx := context.Background()
	switch os.Args[1] {
	case "load":
		st, err := store.Open(ctx, *database, *dataDir, store.Options{})
		if err != nil {
			log.Fatal(err)
		}
		defer st.Close()
		load(ctx, st, *images, *perImage, *hosts, *workloads, *alerts)
	case "query":
		c, err := client.New(*server, *token, client.Options{})
		if err != nil {
			log.Fatal(err)
		}
		query(ctx, c, *rounds)
	case "ingest":
		c, err := client.New(*server, *token, client.Options{})
		if err != nil {
			log.Fatal(err)
		}
		if *osvGo != "" {
			ingestPkgs(ctx, c, goModules(*osvGo), *perReport, *n, *conc)
			return
		}
		ingest(ctx, c, *rootfs, *n)
	default:
		log.Fatalf("unknown subcommand %s", os.Args[1])
	}
}

func ghsa(cve int) string { return fmt.Sprintf("GHSA-%04x-%04x-bw00", cve, cve*7%65536) }

func digest(kind string, i int) string {
	return fmt.Sprintf("sha256:%064x", uint64(i)*0x9e3779b97f4a7c15^uint64(len(kind))<<56)
}

var sevs = []model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityHigh, model.SeverityMedium, model.SeverityMedium,
	model.SeverityMedium, model.SeverityLow, model.SeverityLow, model.SeverityLow, model.SeverityUnknown}

func load(ctx context.Context, st *store.Store, images, perImage, hosts, workloads, alerts int) {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	findings := 0
	// Every image stores a real inventory, as ingestion would: Debian 12,
	// five layers with their history commands, 150 packages (the image
	// page reads its layers, OS and packages from it).
	invRep := &model.Report{Distro: &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Image: model.ImageInfo{Source: "registry", Platform: "linux/amd64"}}
	for l := range 5 {
		invRep.Image.Layers = append(invRep.Image.Layers, model.Layer{Index: l, DiffID: digest("layer", l), CreatedBy: fmt.Sprintf("RUN apt-get install -y lib%d # step %d", l*30, l), Base: l < 2})
	}
	for p := range 150 {
		invRep.Packages = append(invRep.Packages, model.Package{Name: fmt.Sprintf("lib%d", p), Version: "1.0-1", Type: "deb", Path: "/var/lib/dpkg/status", Layer: &model.Layer{Index: p / 30}})
	}
	for i := range images {
		id := digest("image", i)
		repo := fmt.Sprintf("registry.example/team%d/app%d", i%50, i%700)
		fs := make([]model.Finding, 0, perImage)
		var c model.Counts
		for j := range perImage {
			sev := sevs[r.IntN(len(sevs))]
			cve := (i*7 + j*13) % 40000
			f := model.Finding{ID: fmt.Sprintf("CVE-2026-%05d", cve), Severity: sev, Status: model.StatusFixed,
				Package: model.Package{Name: fmt.Sprintf("lib%d", j%300), Version: "1.0-1", Type: "deb"}, InstalledVersion: "1.0-1",
				FixedVersion: "1.0-2", Remediation: "upgrade to 1.0-2", DataSources: []string{"debian-tracker"}}
			// A third of the advisories have a GHSA alias; one in 97 is
			// known exploited (the console's search and KEV filter).
			if cve%3 == 0 {
				f.Aliases = []string{ghsa(cve)}
			}
			f.KnownExploited = cve%97 == 0
			fs = append(fs, f)
			c.Add(sev)
			c.Total++
		}
		invRep.Resource, invRep.Image.Digest = model.Resource{Kind: model.KindImage, ID: id}, id
		inv, err := bwingest.EncodeInventory(invRep)
		if err != nil {
			log.Fatal(err)
		}
		verdict := model.VerdictUnhealthy
		if c.Critical+c.High+c.Medium == 0 {
			verdict = model.VerdictHealthy
		}
		b := &store.Batch{Kind: "image", Subject: id, ContentHash: id, At: time.Now(),
			Resources: []model.Resource{{Kind: model.KindRegistry, ID: "registry.example", Name: "registry.example"},
				{Kind: model.KindRepository, ID: repo, Name: repo[len("registry.example/"):], Parent: "registry.example"},
				{Kind: model.KindImage, ID: id, Name: fmt.Sprintf("%s:%d", repo, i), Parent: repo, Facts: map[string]string{"config_digest": digest("config", i), "os": "debian 12"}}},
			ImageRefs: []store.ImageRef{{ImageID: id, Repository: repo, Tag: fmt.Sprint(i)}},
			Inventory: inv,
			Findings:  fs, Matched: true, Health: &store.Health{Verdict: verdict, Counts: c, DBVersion: "bench"},
			Source: "vuln", Assessments: []store.ResourceAssessments{{ResourceID: id, Items: []model.Assessment{{Rule: "VULN-image", Status: model.AssessUnhealthy, Severity: model.SeverityHigh}}}},
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			log.Fatal(err)
		}
		findings += len(fs)
		if (i+1)%1000 == 0 {
			el := time.Since(start)
			fmt.Printf("load: %d images, %d findings in %s (%.0f findings/s)\n", i+1, findings, el.Round(time.Millisecond), float64(findings)/el.Seconds())
		}
	}
	fmt.Printf("RESULT store load: %d findings in %s = %.0f findings/s\n", findings, time.Since(start).Round(time.Millisecond), float64(findings)/time.Since(start).Seconds())
	for h := range hosts {
		hid := fmt.Sprintf("ENGINE-%04d", h)
		b := &store.Batch{Kind: "docker-bench", Subject: hid, ContentHash: hid, At: time.Now(), Source: "cis-docker",
			Resources: []model.Resource{{Kind: model.KindDockerHost, ID: hid, Name: fmt.Sprintf("node-%d", h), Facts: map[string]string{"docker_version": "28.2.2", "images": "50"}}}}
		var as []model.Assessment
		for k := range 117 {
			s := model.AssessHealthy
			if r.IntN(4) == 0 {
				s = model.AssessUnhealthy
			}
			as = append(as, model.Assessment{Rule: fmt.Sprintf("CIS-DOCKER-%d.%d", k/20+1, k%20+1), Status: s, Severity: model.SeverityHigh, Evidence: []string{"bench"}})
		}
		b.Assessments = []store.ResourceAssessments{{ResourceID: hid, Items: as}}
		for c := range 20 {
			cid := fmt.Sprintf("%s/%064x", hid, c)
			b.Resources = append(b.Resources, model.Resource{Kind: model.KindContainer, ID: cid, Name: fmt.Sprintf("c%d", c), Parent: hid})
			b.Runs = append(b.Runs, store.Run{RunnerID: cid, Image: digest("image", r.IntN(images)), RootID: hid})
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	clusters := 10
	for cl := range clusters {
		cid := fmt.Sprintf("cluster-uid-%d", cl)
		b := &store.Batch{Kind: "k8s-policy", Subject: cid, ContentHash: cid, At: time.Now(), Source: "k8s-policy",
			Resources: []model.Resource{{Kind: model.KindCluster, ID: cid, Name: fmt.Sprintf("prod-%d", cl)}}}
		for w := range workloads / clusters {
			ns := fmt.Sprintf("%s/ns%d", cid, w%40)
			if w < 40 {
				b.Resources = append(b.Resources, model.Resource{Kind: model.KindNamespace, ID: ns, Name: fmt.Sprintf("ns%d", w%40), Parent: cid})
			}
			wid := fmt.Sprintf("%s/Deployment/app%d", ns, w)
			b.Resources = append(b.Resources, model.Resource{Kind: model.KindWorkload, ID: wid, Name: fmt.Sprintf("app%d", w), Parent: ns, Labels: map[string]string{"kind": "Deployment"}})
			img := r.IntN(images)
			b.Runs = append(b.Runs, store.Run{RunnerID: wid, Image: fmt.Sprintf("registry.example/team%d/app%d:%d", img%50, img%700, img), RootID: cid})
			var as []model.Assessment
			for k := range 20 {
				s := model.AssessHealthy
				if r.IntN(5) == 0 {
					s = model.AssessUnhealthy
				}
				as = append(as, model.Assessment{Rule: policyRules[k], Status: s, Severity: sevs[k%len(sevs)]})
			}
			b.Assessments = append(b.Assessments, store.ResourceAssessments{ResourceID: wid, Items: as})
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	base := time.Now().Add(-30 * 24 * time.Hour)
	for start := 0; start < alerts; start += 1000 {
		b := &store.Batch{Kind: "alerts", At: time.Now()}
		for i := start; i < min(start+1000, alerts); i++ {
			t := base.Add(time.Duration(i) * 25 * time.Second)
			b.Alerts = append(b.Alerts, model.Alert{ID: fmt.Sprintf("%032x", i), Type: []string{"K8S_PrivilegedContainer", "K8S.NODE_ReverseShell", "K8S_ExposedDashboard"}[i%3],
				Title: "bench alert", Severity: sevs[i%len(sevs)], Tactics: []string{"Execution"}, Count: 1 + i%5, FirstSeen: t, LastSeen: t.Add(time.Minute),
				Resource: model.Resource{Kind: model.KindWorkload, ID: fmt.Sprintf("cluster-uid-%d/ns%d/Deployment/app%d", i%clusters, i%40, i%500)}, Status: model.AlertActive,
				Evidence: []model.Evidence{{Time: t, Source: "k8s-audit", Summary: "bench event"}}})
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("RESULT loaded: %d images, %d findings, %d hosts, %d workloads, %d alerts in %s\n", images, findings, hosts, workloads, alerts, time.Since(start).Round(time.Second))
	// What the server's posture loop does at its first tick: every
	// resource's recommendations, the counts and the score.
	cat, err := recommend.Default()
	if err != nil {
		log.Fatal(err)
	}
	t := time.Now()
	res, err := st.RefreshPosture(ctx, cat, time.Now(), true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("RESULT posture refresh: %d resources, %d recommendation states in %s\n", res.Resources, res.Changed, time.Since(t).Round(time.Millisecond))
}

// policyRules are real workload policy ids (internal/policy), so the
// recommendations and the score see the synthetic workloads.
var policyRules = []string{"BW-PSS-PRIVILEGED", "BW-PSS-ALLOW-PRIVILEGE-ESCALATION", "BW-PSS-CAPABILITIES-BASELINE", "BW-PSS-CAPABILITIES-RESTRICTED",
	"BW-PSS-HOST-NAMESPACES", "BW-PSS-HOST-PATH-VOLUMES", "BW-PSS-HOST-PORTS", "BW-PSS-RUN-AS-NON-ROOT", "BW-PSS-RUN-AS-USER",
	"BW-PSS-SECCOMP-PROFILE-BASELINE", "BW-PSS-APPARMOR-PROFILE", "BW-K8S-READONLY-ROOTFS", "BW-K8S-RESOURCE-LIMITS", "BW-K8S-SA-TOKEN-AUTOMOUNT",
	"BW-K8S-IMAGE-TAG", "BW-K8S-DEFAULT-NAMESPACE", "BW-K8S-ALLOWED-REGISTRIES", "BW-PSS-SYSCTLS", "BW-PSS-PROC-MOUNT", "BW-PSS-SELINUX-OPTIONS"}

func query(ctx context.Context, c *client.Client, rounds int) {
	r := rand.New(rand.NewPCG(3, 4))
	// A page deep in the images list: its cursor, got once.
	var deep string
	q := url.Values{"kind": {"image"}, "limit": {"50"}}
	for range 20 {
		p, err := c.Resources(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		deep = p.Next
		q.Set("cursor", deep)
	}
	// And the vulnerability list's 21st page.
	var vdeep string
	vq := url.Values{"limit": {"50"}}
	for range 20 {
		var p struct{ Next string }
		if err := c.Get(ctx, "/api/v1/vulnerabilities", vq, &p); err != nil {
			log.Fatal(err)
		}
		vdeep = p.Next
		vq.Set("cursor", vdeep)
	}
	calls := []struct {
		name string
		path func() (string, url.Values)
	}{
		{"vulnerabilities (first page)", func() (string, url.Values) { return "/api/v1/vulnerabilities", nil }},
		{"vulnerabilities page 21", func() (string, url.Values) { return "/api/v1/vulnerabilities", url.Values{"cursor": {vdeep}} }},
		{"vulnerabilities search by alias", func() (string, url.Values) {
			return "/api/v1/vulnerabilities", url.Values{"q": {ghsa(3 * r.IntN(13333))}}
		}},
		{"vulnerabilities search by package", func() (string, url.Values) {
			return "/api/v1/vulnerabilities", url.Values{"q": {fmt.Sprintf("lib%d", r.IntN(300))}}
		}},
		{"vulnerabilities search by id prefix", func() (string, url.Values) {
			return "/api/v1/vulnerabilities", url.Values{"q": {fmt.Sprintf("CVE-2026-%03d", r.IntN(400))}}
		}},
		{"vulnerabilities KEV critical", func() (string, url.Values) {
			return "/api/v1/vulnerabilities", url.Values{"kev": {"true"}, "severity": {"critical"}}
		}},
		{"alerts per day (30 days)", func() (string, url.Values) { return "/api/v1/alerts/stats", nil }},
		{"resources kind=image", func() (string, url.Values) { return "/api/v1/resources", url.Values{"kind": {"image"}} }},
		{"resources images unhealthy by severity", func() (string, url.Values) {
			return "/api/v1/resources", url.Values{"kind": {"image"}, "health": {"unhealthy"}, "sort": {"-severity"}}
		}},
		{"resources page 21", func() (string, url.Values) {
			return "/api/v1/resources", url.Values{"kind": {"image"}, "cursor": {deep}}
		}},
		{"resources of a host", func() (string, url.Values) {
			return "/api/v1/resources", url.Values{"parent": {fmt.Sprintf("ENGINE-%04d", r.IntN(200))}}
		}},
		{"resources name prefix", func() (string, url.Values) {
			return "/api/v1/resources", url.Values{"kind": {"image"}, "name": {fmt.Sprintf("registry.example/team%d/*", r.IntN(50))}}
		}},
		{"resource detail (image)", func() (string, url.Values) { return "/api/v1/resources/" + digest("image", r.IntN(10000)), nil }},
		{"resource detail (host)", func() (string, url.Values) {
			return "/api/v1/resources/" + fmt.Sprintf("ENGINE-%04d", r.IntN(200)), nil
		}},
		{"findings of an image", func() (string, url.Values) {
			return "/api/v1/findings", url.Values{"resource": {digest("image", r.IntN(10000))}}
		}},
		{"findings of a CVE", func() (string, url.Values) {
			return "/api/v1/findings", url.Values{"vulnerability": {fmt.Sprintf("CVE-2026-%05d", r.IntN(40000))}}
		}},
		{"where is a CVE", func() (string, url.Values) {
			return fmt.Sprintf("/api/v1/vulnerabilities/CVE-2026-%05d", r.IntN(40000)), nil
		}},
		{"assessments of a host", func() (string, url.Values) {
			return "/api/v1/assessments", url.Values{"resource": {fmt.Sprintf("ENGINE-%04d", r.IntN(200))}}
		}},
		{"unhealthy assessments of a rule", func() (string, url.Values) {
			return "/api/v1/assessments", url.Values{"rule": {policyRules[r.IntN(len(policyRules))]}, "status": {"unhealthy"}}
		}},
		{"recommendations", func() (string, url.Values) { return "/api/v1/recommendations", nil }},
		{"recommendations of a cluster", func() (string, url.Values) {
			return "/api/v1/recommendations", url.Values{"cluster": {fmt.Sprintf("cluster-uid-%d", r.IntN(10))}}
		}},
		{"recommendations of a namespace", func() (string, url.Values) {
			return "/api/v1/recommendations", url.Values{"namespace": {fmt.Sprintf("cluster-uid-%d/ns%d", r.IntN(10), r.IntN(40))}}
		}},
		{"recommendation detail", func() (string, url.Values) {
			return "/api/v1/recommendations/" + []string{"REC-IMAGE-VULNS", "REC-PRIVILEGED", "REC-DOCKER-HOST", "REC-RUNNING-IMAGE-VULNS"}[r.IntN(4)], nil
		}},
		{"recommendation resources, healthy", func() (string, url.Values) {
			return "/api/v1/recommendations/REC-RUN-AS-ROOT/resources", url.Values{"status": {"healthy"}}
		}},
		{"score", func() (string, url.Values) { return "/api/v1/score", nil }},
		{"score history 30 days", func() (string, url.Values) { return "/api/v1/score/history", nil }},
		{"alerts newest", func() (string, url.Values) { return "/api/v1/alerts", nil }},
		{"alerts high+ last 7 days", func() (string, url.Values) {
			return "/api/v1/alerts", url.Values{"severity": {"high"}, "since": {"168h"}}
		}},
		{"alerts of a type", func() (string, url.Values) { return "/api/v1/alerts", url.Values{"type": {"K8S.NODE_ReverseShell"}} }},
		{"alert detail", func() (string, url.Values) { return fmt.Sprintf("/api/v1/alerts/%032x", r.IntN(100000)), nil }},
		{"status", func() (string, url.Values) { return "/api/v1/status", nil }},
	}
	fmt.Printf("%-42s %8s %8s %8s\n", "call", "p50 ms", "p95 ms", "p99 ms")
	worst := 0.0
	for _, call := range calls {
		var ds []time.Duration
		for range rounds {
			path, q := call.path()
			var out json.RawMessage
			t := time.Now()
			if err := c.Get(ctx, path, q, &out); err != nil {
				log.Fatalf("%s: %v", call.name, err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		p := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000 }
		fmt.Printf("%-42s %8.1f %8.1f %8.1f\n", call.name, p(.5), p(.95), p(.99))
		worst = max(worst, p(.95))
	}
	fmt.Printf("RESULT worst p95: %.1f ms\n", worst)
}

// ingest posts image reports whose packages are the Debian image's at
// versions older than every fix, so the server's own matching finds every
// advisory of them: real matching against the real DB.
func ingest(ctx context.Context, c *client.Client, rootfs string, n int) {
	pkgs := debPackages(rootfs)
	start := time.Now()
	findings := 0
	for i := range n {
		rep := model.Report{SchemaVersion: "1", Tool: model.Tool{Name: "serverload"}, GeneratedAt: time.Now(),
			Image:  model.ImageInfo{Source: "registry", Digest: digest("ingest", i+1_000_000), Reference: fmt.Sprintf("registry.example/ingest/app:%d", i)},
			Distro: &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}, Packages: pkgs}
		res, err := c.PostJSON(ctx, "image", rep)
		if err != nil {
			log.Fatal(err)
		}
		findings += res.Result.Findings
	}
	el := time.Since(start)
	fmt.Printf("RESULT ingest: %d reports, %d findings matched and stored in %s = %.0f findings/s (%.1f reports/s)\n",
		n, findings, el.Round(time.Millisecond), float64(findings)/el.Seconds(), float64(n)/el.Seconds())
}

// goModules lists the modules an OSV export of the Go vulnerability DB
// names: every one has advisories, so a report of them at v0.0.1 is a
// report with hundreds of findings, as a large Go service's is.
func goModules(path string) []model.Package {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(zr)
	seen := map[string]bool{}
	var out []model.Package
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		var rec struct {
			Affected []struct {
				Package struct{ Ecosystem, Name string } `json:"package"`
			} `json:"affected"`
		}
		if json.NewDecoder(tr).Decode(&rec) != nil {
			continue
		}
		for _, a := range rec.Affected {
			if a.Package.Ecosystem != "Go" || seen[a.Package.Name] || a.Package.Name == "stdlib" || a.Package.Name == "toolchain" {
				continue
			}
			seen[a.Package.Name] = true
			out = append(out, model.Package{Name: a.Package.Name, Version: "v0.0.1", Type: "go-module", PURL: "pkg:golang/" + a.Package.Name + "@v0.0.1", Path: "/app/server"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func ingestPkgs(ctx context.Context, c *client.Client, pkgs []model.Package, per, n, conc int) {
	if len(pkgs) == 0 {
		log.Fatal("no packages")
	}
	start := time.Now()
	salt := int(start.UnixNano() % 1_000_000_000) // a new set of digests each run
	var mu sync.Mutex
	findings := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f := postGo(ctx, c, pkgs, per, i, salt)
				mu.Lock()
				findings += f
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("RESULT ingest (Go services, %d modules each, %d clients): %d reports, %d findings matched and stored in %s = %.0f findings/s (%.1f reports/s)\n",
		per, conc, n, findings, el.Round(time.Millisecond), float64(findings)/el.Seconds(), float64(n)/el.Seconds())
}

func postGo(ctx context.Context, c *client.Client, pkgs []model.Package, per, i, salt int) int {
	{
		lo := (i * per) % len(pkgs)
		part := append([]model.Package(nil), pkgs[lo:min(lo+per, len(pkgs))]...)
		rep := model.Report{SchemaVersion: "1", Tool: model.Tool{Name: "serverload"}, GeneratedAt: time.Now(),
			Image:    model.ImageInfo{Source: "registry", Digest: digest("go", i+salt), Reference: fmt.Sprintf("registry.example/go/svc:%d", i)},
			Packages: part}
		res, err := c.PostJSON(ctx, "image", rep)
		if err != nil {
			log.Fatal(err)
		}
		return res.Result.Findings
	}
}

func debPackages(rootfs string) []model.Package {
	f, err := os.Open(rootfs)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			log.Fatal("no dpkg status in the rootfs")
		}
		if err != nil {
			log.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") != "var/lib/dpkg/status" {
			continue
		}
		b, _ := io.ReadAll(tr)
		var out []model.Package
		for _, para := range strings.Split(string(b), "\n\n") {
			var name, src string
			for _, l := range strings.Split(para, "\n") {
				if v, ok := strings.CutPrefix(l, "Package: "); ok {
					name = v
				}
				if v, ok := strings.CutPrefix(l, "Source: "); ok {
					src = strings.Fields(v)[0]
				}
			}
			if name == "" {
				continue
			}
			if src == "" {
				src = name
			}
			out = append(out, model.Package{Name: name, Version: "0.1-1", Type: "deb", SourceName: src, SourceVersion: "0.1-1",
				PURL: "pkg:deb/debian/" + name + "@0.1-1?distro=debian-12"})
		}
		return out
	}
}
