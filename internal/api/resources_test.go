package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestResourceDetail: an image report's layers (with their history
// commands), OS and packages come back from the stored inventory, its
// findings grouped by package with the upgrades that fix them, and a
// Docker host's CIS results by section in the benchmark's order.
func TestResourceDetail(t *testing.T) { eachStore(t, resourceDetail) }

func resourceDetail(t *testing.T, e *env) {
	ctx := context.Background()
	img := "sha256:" + strings.Repeat("cd", 32)
	rep := model.Report{SchemaVersion: "1", Resource: model.Resource{Kind: model.KindImage, ID: img},
		Image: model.ImageInfo{Source: "registry", Reference: "registry.example/app:1", Digest: img, Platform: "linux/amd64",
			Layers: []model.Layer{{Index: 0, DiffID: "sha256:" + strings.Repeat("01", 32), CreatedBy: "/bin/sh -c #(nop) ADD file:abc in /", Base: true},
				{Index: 1, DiffID: "sha256:" + strings.Repeat("02", 32), CreatedBy: "RUN apt-get install -y openssl"}}},
		Distro: &model.Distro{ID: "debian", VersionID: "10", PrettyName: "Debian GNU/Linux 10 (buster)"}}
	for _, n := range []string{"zlib1g", "openssl", "libssl3", "bash"} {
		rep.Packages = append(rep.Packages, model.Package{Name: n, Version: "1.0-1", Type: "deb", Layer: &model.Layer{Index: 1}})
	}
	resp := e.do(t, "POST", "/api/v1/reports?kind=image", e.tokens["ingest"], rep, nil, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("post image: %d", resp.StatusCode)
	}
	deb := func(id, pkg, fixed string, sev model.Severity) model.Finding {
		return model.Finding{ID: id, Severity: sev, Status: model.StatusFixed, Package: model.Package{Name: pkg, Version: "1.0-1", Type: "deb"}, InstalledVersion: "1.0-1", FixedVersion: fixed}
	}
	fs := []model.Finding{deb("CVE-1", "openssl", "1.0-2", model.SeverityCritical), deb("CVE-2", "openssl", "1.0-3", model.SeverityLow),
		deb("CVE-3", "zlib1g", "1.0-2", model.SeverityHigh), deb("CVE-4", "bash", "", model.SeverityMedium)}
	if _, err := e.st.Ingest(ctx, &store.Batch{Kind: "image", Subject: img, At: e.now, Findings: fs, Matched: true,
		Health: &store.Health{Verdict: model.VerdictUnhealthy}}); err != nil {
		t.Fatal(err)
	}
	get := func(path string, v any) {
		t.Helper()
		resp := e.do(t, "GET", path, e.tokens["read"], nil, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	base := "/api/v1/images/" + img
	var layers api.ImageLayers
	get(base+"/layers", &layers)
	if len(layers.Layers) != 2 || layers.Layers[1].CreatedBy != "RUN apt-get install -y openssl" || !layers.Layers[0].Base {
		t.Errorf("layers: %+v", layers.Layers)
	}
	// Debian 10's support ended in 2024: judged on the day of the request.
	if layers.Distro == nil || !layers.Distro.EOL || layers.Distro.EOLDate == "" {
		t.Errorf("distro: %+v", layers.Distro)
	}
	var pkgs api.PackagePage
	get(base+"/packages?limit=2", &pkgs)
	if pkgs.Total != 4 || len(pkgs.Items) != 2 || pkgs.Items[0].Name != "bash" || pkgs.Items[1].Name != "libssl3" || pkgs.Next != "2" {
		t.Errorf("packages page 1: %+v", pkgs)
	}
	pkgs = api.PackagePage{}
	get(base+"/packages?limit=2&cursor=2", &pkgs)
	if len(pkgs.Items) != 2 || pkgs.Items[0].Name != "openssl" || pkgs.Next != "" {
		t.Errorf("packages page 2: %+v", pkgs)
	}
	pkgs = api.PackagePage{}
	get(base+"/packages?name="+url.QueryEscape("lib*"), &pkgs)
	if pkgs.Total != 1 || pkgs.Items[0].Name != "libssl3" {
		t.Errorf("packages lib*: %+v", pkgs)
	}
	var ups api.ImageUpgrades
	get(base+"/upgrades", &ups)
	if ups.Findings != 4 || ups.Fixable != 3 || len(ups.Upgrades) != 2 || ups.Groups != 3 {
		t.Fatalf("upgrades: %+v", ups)
	}
	if u := ups.Upgrades[0]; u.Package != "openssl" || u.To != "1.0-3" || u.FixesCount != 2 || u.Cumulative != 2 || ups.Upgrades[1].Cumulative != 3 {
		t.Errorf("first upgrade: %+v", u)
	}
	if g := ups.Packages[0]; g.Package != "openssl" || g.FixedIn != "1.0-3" || g.Severity != model.SeverityCritical || len(g.Findings) != 2 {
		t.Errorf("first group: %+v", g)
	}
	if g := ups.Packages[2]; g.Package != "bash" || g.FixedIn != "" {
		t.Errorf("last group: %+v", g)
	}
	for _, bad := range []string{base + "/packages?limit=0", base + "/packages?cursor=x", "/api/v1/images/sha256:nope/layers", "/api/v1/assessments/sections"} {
		if resp := e.do(t, "GET", bad, e.tokens["read"], nil, nil, nil); resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 400 or 404", bad, resp.StatusCode)
		}
	}

	host := "ENGINE-1"
	var as []model.Assessment
	for _, r := range []struct {
		id string
		st model.AssessmentStatus
	}{{"2.10", model.AssessUnhealthy}, {"1.1.1", model.AssessHealthy}, {"2.2", model.AssessManual}, {"1.2.1", model.AssessUnhealthy}, {"5.1", model.AssessNotApplicable}} {
		as = append(as, model.Assessment{Rule: "CIS-DOCKER-" + r.id, Status: r.st, Severity: model.SeverityHigh})
	}
	if _, err := e.st.Ingest(ctx, &store.Batch{Kind: "docker-bench", Subject: host, At: e.now, Source: "cis-docker",
		Resources: []model.Resource{{Kind: model.KindDockerHost, ID: host}}, Assessments: []store.ResourceAssessments{{ResourceID: host, Items: as}}}); err != nil {
		t.Fatal(err)
	}
	var secs api.Sections
	get("/api/v1/assessments/sections?resource="+host, &secs)
	var got []string
	for _, s := range secs.Sections {
		var rules []string
		for _, it := range s.Items {
			rules = append(rules, strings.TrimPrefix(it.Rule, "CIS-DOCKER-"))
		}
		got = append(got, s.Title+": "+strings.Join(rules, " "))
	}
	want := []string{"CIS Docker 1 Host Configuration: 1.1.1 1.2.1", "CIS Docker 2 Docker Daemon Configuration: 2.2 2.10", "CIS Docker 5 Container Runtime: 5.1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sections:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := secs.Sections[0].Counts; c["healthy"] != 1 || c["unhealthy"] != 1 {
		t.Errorf("section 1 counts: %v", c)
	}
}
