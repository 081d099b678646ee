package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bulwarkdev/bulwark/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

var goldenExt = map[Format]string{
	FormatTable:     "table.txt",
	FormatJSON:      "json",
	FormatSARIF:     "sarif.json",
	FormatCycloneDX: "cdx.json",
	FormatSPDXJSON:  "spdx.json",
}

func render(t testing.TB, f Format, r *model.Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, r, opts); err != nil {
		t.Fatalf("Write %s: %v", f, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		rep  func() *model.Report
	}{{"report", testReport}, {"not-assessed", notAssessedReport}} {
		for _, f := range Formats() {
			t.Run(c.name+"/"+string(f), func(t *testing.T) { golden(t, f, c.name, c.rep) })
		}
	}
}

func golden(t *testing.T, f Format, name string, rep func() *model.Report) {
	t.Helper()
	got := render(t, f, rep(), Options{})
	again := render(t, f, rep(), Options{})
	if !bytes.Equal(got, again) {
		t.Fatalf("%s output is not byte-stable across runs", f)
	}
	path := filepath.Join("testdata", "golden", name+"."+goldenExt[f])
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s output differs from %s (run with -update to accept):\n%s", f, path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + x + "\n  got: " + y
		}
	}
	return "(no line differs)"
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("output does not validate against its schema: %v", err)
	}
}

var (
	sarifSchemaURL = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	cdxSchemaURL   = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	spdxSchemaURL  = "http://spdx.org/rdf/terms/spdx-schema-2.3.json"
	cdxExtra       = map[string]string{
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
	}
)

func TestSchemaValidation(t *testing.T) {
	empty := testReport()
	empty.Findings, empty.Packages, empty.Distro, empty.Summary.Upgrades = []model.Finding{}, nil, nil, nil
	noDigest := testReport()
	noDigest.Image = model.ImageInfo{Source: "docker"}
	noDigest.Resource = model.Resource{}
	reports := map[string]*model.Report{"full": testReport(), "empty": empty, "no-digest": noDigest, "not-assessed": notAssessedReport()}

	schemas := []struct {
		f      Format
		url    string
		file   string
		extras map[string]string
	}{
		{FormatSARIF, sarifSchemaURL, "sarif-schema-2.1.0.json", nil},
		{FormatCycloneDX, cdxSchemaURL, "bom-1.6.schema.json", cdxExtra},
		{FormatSPDXJSON, spdxSchemaURL, "spdx-schema-2.3.json", nil},
	}
	for _, s := range schemas {
		sch := loadSchemaAs(t, s.url, s.file, s.extras)
		for name, r := range reports {
			t.Run(string(s.f)+"/"+name, func(t *testing.T) {
				validate(t, sch, render(t, s.f, r, Options{}))
			})
		}
	}
	// The validator must be able to fail: a SARIF log without runs is invalid.
	sch := loadSchemaAs(t, sarifSchemaURL, "sarif-schema-2.1.0.json", nil)
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{}}]}`))
	if err := sch.Validate(inst); err == nil {
		t.Error("SARIF schema accepted a run without tool.driver")
	}
}

func loadSchemaAs(t testing.TB, url, file string, extra map[string]string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	all := map[string]string{url: file}
	for k, v := range extra {
		all[k] = v
	}
	for u, f := range all {
		fh, err := os.Open(filepath.Join("testdata", "schemas", f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("parse schema %s: %v", f, err)
		}
		if err := c.AddResource(u, doc); err != nil {
			t.Fatalf("add schema %s: %v", f, err)
		}
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", url, err)
	}
	return sch
}

func TestJSONRoundTrip(t *testing.T) {
	orig := testReport()
	data := render(t, FormatJSON, orig, Options{})
	back, err := ReadJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadJSON: %v", err)
	}
	if !reflect.DeepEqual(orig, back) {
		t.Errorf("round trip changed the report:\n%s", firstDiff(string(data), string(render(t, FormatJSON, back, Options{}))))
	}
	// Re-rendering from the read report gives the same bytes in every format.
	for _, f := range Formats() {
		if a, b := render(t, f, orig, Options{}), render(t, f, back, Options{}); !bytes.Equal(a, b) {
			t.Errorf("%s differs after a json round trip", f)
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"garbage", "not json", "read json report"},
		{"empty", "", "EOF"},
		{"no schema version", `{"tool":{"name":"x"}}`, "not a Bulwark report"},
		{"future schema", `{"schema_version":"2"}`, "not supported"},
		{"trailing", `{"schema_version":"1"} {}`, "trailing data"},
		{"wrong type", `{"schema_version":"1","packages":{}}`, "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadJSON(%q) error = %v, want containing %q", tc.in, err, tc.want)
			}
		})
	}
	if _, err := ReadJSON(strings.NewReader(`{"schema_version":"1.3"}`)); err != nil {
		t.Errorf("minor schema versions must be readable: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"table", FormatTable, false}, {"JSON", FormatJSON, false}, {" sarif ", FormatSARIF, false},
		{"cyclonedx", FormatCycloneDX, false}, {"cyclonedx-json", FormatCycloneDX, false},
		{"spdx-json", FormatSPDXJSON, false}, {"spdx", FormatSPDXJSON, false},
		{"xml", "", true}, {"spdx-tag-value", "", true},
	}
	for _, tc := range tests {
		got, err := ParseFormat(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	if err := Write(io.Discard, FormatJSON, nil, Options{}); err == nil {
		t.Error("nil report: want error")
	}
	if err := Write(io.Discard, "yaml", testReport(), Options{}); err == nil {
		t.Error("unknown format: want error")
	}
	if err := WriteSBOM(io.Discard, FormatSARIF, testReport(), Options{}); err == nil {
		t.Error("WriteSBOM sarif: want error")
	}
}

func TestTable(t *testing.T) {
	out := string(render(t, FormatTable, testReport(), Options{}))
	for _, want := range []string{
		"Image: registry.example.com/team/app:1.4",
		"Digest: sha256:1111",
		"OS: Debian GNU/Linux 12 (bookworm) (end of life since 2026-06-10)",
		"DB: built 2026-11-17T06:00:00Z (3d old)",
		"openssl 3.0.11-1~deb12u2 (deb)",
		"layer 0, base image · /var/lib/dpkg/status",
		"layer 2, your build: npm ci --omit=dev && npm cache clean --force · /app/package-lock.json",
		"CVE-2024-0727 (KEV)",
		"Result: UNHEALTHY (threshold: high)",
		"Findings: 6 total: 2 critical, 2 high, 1 medium, 0 low, 1 unknown; 2 suppressed",
		"upgrade openssl 3.0.11-1~deb12u2 → 3.0.13-1~deb12u1 fixes 2 (1 critical, 1 high)",
		"upgrade lodash 4.17.4 → 4.17.19 fixes 1 (1 high)",
		"[vex: vulnerable_code_not_in_execute_path]",
		"Warnings (2):",
		"[layer] sha256:dddd…0002: tar entry too large, skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("table has ANSI codes without Options.Color")
	}
	// lodash at two paths: two groups.
	if n := strings.Count(out, "lodash 4.17.4 (npm)"); n != 2 {
		t.Errorf("lodash groups = %d, want 2", n)
	}
	for i, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	colored := string(render(t, FormatTable, testReport(), Options{Color: true}))
	if !strings.Contains(colored, "\x1b[91mcritical\x1b[0m") {
		t.Error("colour table lacks a red critical")
	}

	healthy := testReport()
	healthy.Findings = []model.Finding{}
	healthy.Summary = model.Summary{Healthy: true, Threshold: model.SeverityCritical, Packages: 6}
	healthy.Warnings = nil
	out = string(render(t, FormatTable, healthy, Options{}))
	for _, want := range []string{"No vulnerabilities found.", "Result: HEALTHY (threshold: critical)"} {
		if !strings.Contains(out, want) {
			t.Errorf("healthy table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Warnings") || strings.Contains(out, "Recommended") {
		t.Errorf("healthy table shows empty sections:\n%s", out)
	}
}

func TestSARIFContent(t *testing.T) {
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version string
					Rules         []struct {
						ID         string
						HelpURI    string         `json:"helpUri"`
						Properties map[string]any `json:"properties"`
					}
				}
			}
			Results []struct {
				RuleID              string `json:"ruleId"`
				RuleIndex           int    `json:"ruleIndex"`
				Level               string `json:"level"`
				Message             struct{ Text string }
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Suppressions        []struct{ Kind, Justification string }
				Locations           []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
					}
					LogicalLocations []struct{ Name, FullyQualifiedName string }
				}
			}
		}
	}
	if err := json.Unmarshal(render(t, FormatSARIF, testReport(), Options{ToolVersion: "9.9.9"}), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "bulwark" || run.Tool.Driver.Version != "9.9.9" {
		t.Errorf("driver = %s %s", run.Tool.Driver.Name, run.Tool.Driver.Version)
	}
	// 8 findings, 7 distinct ids.
	if len(run.Tool.Driver.Rules) != 7 || len(run.Results) != 8 {
		t.Fatalf("rules=%d results=%d, want 7 and 8", len(run.Tool.Driver.Rules), len(run.Results))
	}
	r0 := run.Tool.Driver.Rules[0]
	if r0.ID != "CVE-2024-0727" || r0.Properties["security-severity"] != "9.8" || r0.HelpURI != "https://security-tracker.debian.org/tracker/CVE-2024-0727" {
		t.Errorf("rule 0 = %+v", r0)
	}
	if ss := run.Tool.Driver.Rules[4].Properties["security-severity"]; ss != "0.0" {
		t.Errorf("unknown severity rule security-severity = %v", ss)
	}
	wantLevels := []string{"error", "error", "error", "warning", "note", "error", "error", "note"}
	fps := map[string]bool{}
	for i, res := range run.Results {
		if res.Level != wantLevels[i] {
			t.Errorf("result %d level = %s, want %s", i, res.Level, wantLevels[i])
		}
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d ruleIndex points at %s, not %s", i, run.Tool.Driver.Rules[res.RuleIndex].ID, res.RuleID)
		}
		fp := res.PartialFingerprints["bulwarkFinding/v1"]
		if fp == "" || fps[fp] {
			t.Errorf("result %d fingerprint %q empty or duplicate", i, fp)
		}
		fps[fp] = true
		if u := res.Locations[0].PhysicalLocation.ArtifactLocation.URI; strings.HasPrefix(u, "/") || u == "" {
			t.Errorf("result %d uri = %q", i, u)
		}
		if ll := res.Locations[0].LogicalLocations; len(ll) != 1 || ll[0].Name != "registry.example.com/team/app:1.4" {
			t.Errorf("result %d logical location = %+v", i, ll)
		}
	}
	if s := run.Results[5].Suppressions; len(s) != 1 || s[0].Kind != "external" || !strings.Contains(s[0].Justification, "vulnerable_code_not_in_execute_path") {
		t.Errorf("vex-suppressed result suppressions = %+v", s)
	}
	if s := run.Results[0].Suppressions; len(s) != 0 {
		t.Errorf("active result has suppressions %+v", s)
	}
	if run.Results[0].Message.Text != "Upgrade openssl to 3.0.13-1~deb12u1" {
		t.Errorf("message = %q", run.Results[0].Message.Text)
	}
	// Fingerprints do not depend on the image digest (rebuilt images).
	r2 := testReport()
	r2.Image.Digest = "sha256:ffff"
	var log2 struct {
		Runs []struct {
			Results []struct {
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			}
		}
	}
	if err := json.Unmarshal(render(t, FormatSARIF, r2, Options{}), &log2); err != nil {
		t.Fatal(err)
	}
	if !fps[log2.Runs[0].Results[0].PartialFingerprints["bulwarkFinding/v1"]] {
		t.Error("fingerprint changed with the image digest")
	}
}

func TestCycloneDXContent(t *testing.T) {
	var bom struct {
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Component struct {
				Type, Name, Version, Purl string
				BOMRef                    string `json:"bom-ref"`
			}
		}
		Components []struct {
			BOMRef     string `json:"bom-ref"`
			Type, Name string
			Purl       string
			Licenses   []map[string]any
			Properties []struct{ Name, Value string }
		}
		Dependencies []struct {
			Ref       string
			DependsOn []string `json:"dependsOn"`
		}
		Vulnerabilities []struct {
			ID       string
			Ratings  []struct{ Method, Severity, Vector string }
			Affects  []struct{ Ref string }
			Analysis struct {
				State, Justification, Detail string
				Response                     []string
			}
			Properties []struct{ Name, Value string }
		}
	}
	data := render(t, FormatCycloneDX, testReport(), Options{})
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatal(err)
	}
	mc := bom.Metadata.Component
	if bom.SpecVersion != "1.6" || mc.Type != "container" || mc.Version != "sha256:1111111111111111111111111111111111111111111111111111111111111111" ||
		mc.Purl != "pkg:oci/app@sha256:1111111111111111111111111111111111111111111111111111111111111111?repository_url=registry.example.com%2Fteam%2Fapp&tag=1.4" {
		t.Errorf("metadata.component = %+v", mc)
	}
	if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("serial = %q", bom.SerialNumber)
	}
	if len(bom.Components) != 7 || bom.Components[0].Type != "operating-system" || bom.Components[0].Name != "debian" {
		t.Fatalf("components: %d, first %+v", len(bom.Components), bom.Components[0])
	}
	refs := map[string]bool{}
	for _, c := range bom.Components {
		if refs[c.BOMRef] {
			t.Errorf("duplicate bom-ref %q", c.BOMRef)
		}
		refs[c.BOMRef] = true
	}
	libc := bom.Components[1]
	props := map[string]string{}
	for _, p := range libc.Properties {
		props[p.Name] = p.Value
	}
	if props[PropSourceName] != "glibc" || props[PropLayerDiffID] == "" || props[PropPackagePath] != "/var/lib/dpkg/status" || props[PropPackageType] != "deb" {
		t.Errorf("libc6 properties = %v", props)
	}
	if len(libc.Licenses) != 2 || libc.Licenses[0]["license"].(map[string]any)["id"] != "LGPL-2.1-or-later" {
		t.Errorf("libc6 licenses = %v", libc.Licenses)
	}
	if d := bom.Dependencies; len(d) != 1 || d[0].Ref != mc.BOMRef || len(d[0].DependsOn) != 7 {
		t.Errorf("dependencies = %+v", d)
	}
	if len(bom.Vulnerabilities) != 8 {
		t.Fatalf("vulnerabilities = %d", len(bom.Vulnerabilities))
	}
	states := []string{"exploitable", "exploitable", "exploitable", "exploitable", "exploitable", "not_affected", "exploitable", "in_triage"}
	for i, v := range bom.Vulnerabilities {
		if v.Analysis.State != states[i] {
			t.Errorf("vuln %d %s state %q, want %q", i, v.ID, v.Analysis.State, states[i])
		}
		if len(v.Affects) != 1 || !refs[v.Affects[0].Ref] {
			t.Errorf("vuln %d affects unknown ref %+v", i, v.Affects)
		}
	}
	v0 := bom.Vulnerabilities[0]
	if v0.Ratings[0].Method != "CVSSv31" || v0.Ratings[0].Severity != "critical" || len(v0.Analysis.Response) != 1 || v0.Analysis.Response[0] != "update" {
		t.Errorf("vuln 0 = %+v", v0)
	}
	if v := bom.Vulnerabilities[5]; v.Analysis.Justification != "code_not_reachable" {
		t.Errorf("vex justification = %q", v.Analysis.Justification)
	}
	if v := bom.Vulnerabilities[3]; v.Ratings[0].Method != "CVSSv4" {
		t.Errorf("cvss4 method = %q", v.Ratings[0].Method)
	}
	// The two lodash findings point at the two lodash components.
	if a, b := bom.Vulnerabilities[5].Affects[0].Ref, bom.Vulnerabilities[6].Affects[0].Ref; a == b {
		t.Errorf("lodash findings at two paths share bom-ref %q", a)
	}

	// An inventory-only report (Findings nil) and WriteSBOM have no vulnerabilities.
	inv := testReport()
	inv.Findings = nil
	var buf bytes.Buffer
	if err := WriteSBOM(&buf, FormatCycloneDX, testReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"nil findings": render(t, FormatCycloneDX, inv, Options{}), "WriteSBOM": buf.Bytes()} {
		if bytes.Contains(out, []byte(`"vulnerabilities"`)) {
			t.Errorf("%s: SBOM has vulnerabilities", name)
		}
	}
}

func TestSPDXContent(t *testing.T) {
	var doc struct {
		DocumentNamespace string `json:"documentNamespace"`
		CreationInfo      struct{ Created string }
		Packages          []struct {
			SPDXID                string `json:"SPDXID"`
			Name                  string
			LicenseDeclared       string `json:"licenseDeclared"`
			SourceInfo            string `json:"sourceInfo"`
			PrimaryPackagePurpose string `json:"primaryPackagePurpose"`
			ExternalRefs          []struct{ ReferenceCategory, ReferenceType, ReferenceLocator string }
		}
		Relationships []struct {
			SpdxElementID      string `json:"spdxElementId"`
			RelatedSpdxElement string `json:"relatedSpdxElement"`
			RelationshipType   string `json:"relationshipType"`
		}
	}
	if err := json.Unmarshal(render(t, FormatSPDXJSON, testReport(), Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.CreationInfo.Created != "2026-11-20T12:00:00Z" || !strings.HasPrefix(doc.DocumentNamespace, spdxNamespaceBase) {
		t.Errorf("created %q namespace %q", doc.CreationInfo.Created, doc.DocumentNamespace)
	}
	other := testReport()
	other.Image.Digest = "sha256:3333"
	var doc2 struct {
		DocumentNamespace string `json:"documentNamespace"`
	}
	_ = json.Unmarshal(render(t, FormatSPDXJSON, other, Options{}), &doc2)
	if doc2.DocumentNamespace == doc.DocumentNamespace {
		t.Error("namespace does not depend on the image digest")
	}
	if len(doc.Packages) != 8 || doc.Packages[0].PrimaryPackagePurpose != "CONTAINER" || doc.Packages[1].PrimaryPackagePurpose != "OPERATING_SYSTEM" {
		t.Fatalf("packages = %d", len(doc.Packages))
	}
	want := map[string]string{ // name → licenseDeclared
		"libc6":           "LGPL-2.1-or-later AND (GPL-2.0-only WITH Linux-syscall-note)",
		"openssl":         "Apache-2.0",
		"@babel/traverse": "NOASSERTION",
	}
	ids := map[string]bool{}
	for _, p := range doc.Packages {
		if ids[p.SPDXID] {
			t.Errorf("duplicate SPDXID %s", p.SPDXID)
		}
		ids[p.SPDXID] = true
		if w, ok := want[p.Name]; ok && p.LicenseDeclared != w {
			t.Errorf("%s licenseDeclared = %q, want %q", p.Name, p.LicenseDeclared, w)
		}
		if p.Name == "libc6" && p.SourceInfo != "built package from: glibc 2.36-9+deb12u3" {
			t.Errorf("libc6 sourceInfo = %q", p.SourceInfo)
		}
	}
	var describes, contains int
	for _, r := range doc.Relationships {
		switch r.RelationshipType {
		case "DESCRIBES":
			describes++
			if r.SpdxElementID != "SPDXRef-DOCUMENT" || r.RelatedSpdxElement != doc.Packages[0].SPDXID {
				t.Errorf("DESCRIBES %+v", r)
			}
		case "CONTAINS":
			contains++
			if !ids[r.RelatedSpdxElement] {
				t.Errorf("CONTAINS unknown %s", r.RelatedSpdxElement)
			}
		}
	}
	if describes != 1 || contains != 7 {
		t.Errorf("describes=%d contains=%d", describes, contains)
	}
}

func bigReport(n int) *model.Report {
	r := testReport()
	base := r.Findings
	r.Findings = nil
	r.Packages = nil
	for i := 0; i < n; i++ {
		for _, f := range base {
			f.Package.Name += "-" + strconv.Itoa(i)
			f.Package.PURL = ""
			f.ID += "-" + strconv.Itoa(i%50)
			r.Findings = append(r.Findings, f)
			r.Packages = append(r.Packages, f.Package)
		}
	}
	return r
}

func BenchmarkWrite(b *testing.B) {
	r := bigReport(250) // 2000 findings, 2000 packages
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, f, r, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
