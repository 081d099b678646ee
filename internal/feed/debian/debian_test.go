package debian

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

func find(t *testing.T, m *advisory.Memory, eco, pkg, id string) (advisory.Affected, bool) {
	t.Helper()
	as, err := m.Affected(context.Background(), eco, pkg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.VulnID == id {
			return a, true
		}
	}
	return advisory.Affected{}, false
}

func fixedOf(a advisory.Affected) string {
	for _, r := range a.Ranges {
		for _, e := range r.Events {
			if e.Fixed != "" {
				return e.Fixed
			}
		}
	}
	return ""
}

func TestParsePkgLine(t *testing.T) {
	tests := []struct {
		in   string
		want pkgLine
		ok   bool
	}{
		{"\t[bookworm] - foot 1.13.1-2+deb12u1", pkgLine{Release: "bookworm", Package: "foot", Kind: "fixed", Version: "1.13.1-2+deb12u1"}, true},
		{"- apt <unfixed> (unimportant; bug #642480)", pkgLine{Package: "apt", Kind: "unfixed", Severity: model.SeverityLow, SevNote: "urgency: unimportant"}, true},
		{"[bullseye] - foot <no-dsa> (Minor issue)", pkgLine{Release: "bullseye", Package: "foot", Kind: "no-dsa", Reason: "Minor issue"}, true},
		{"- putty 0.75-3 (low; bug #990901)", pkgLine{Package: "putty", Kind: "fixed", Version: "0.75-3", Severity: model.SeverityLow}, true},
		{"[etch] - kismet 2005.08.R1-0.1etch1 (high)", pkgLine{Release: "etch", Package: "kismet", Kind: "fixed", Version: "2005.08.R1-0.1etch1", Severity: model.SeverityHigh}, true},
		{"- tar <unfixed> (bug #328228; unimportant)", pkgLine{Package: "tar", Kind: "unfixed", Severity: model.SeverityLow, SevNote: "urgency: unimportant"}, true},
		{"[buster] - curl <postponed> (Minor issue; can be fixed in next update)", pkgLine{Release: "buster", Package: "curl", Kind: "postponed", Reason: "Minor issue; can be fixed in next update"}, true},
		{"NOTE: [etch] - clamav <end-of-life>", pkgLine{}, false},
		{"{CVE-2023-1}", pkgLine{}, false},
		{"[bookworm - x 1", pkgLine{}, false},
		{"- pkg <unfixed", pkgLine{}, false},
	}
	for _, tt := range tests {
		got, ok := parsePkgLine(tt.in)
		if ok != tt.ok {
			t.Errorf("parsePkgLine(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePkgLine(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

const cveListSample = `CVE-2023-9001 (Overflow in foo ...)
	{DSA-5999-1}
	- foo 1.5-1 (low; bug #1)
	[bookworm] - foo 1.2-1+deb12u1
	[bullseye] - foo <no-dsa> (Minor issue)
	[buster] - foo <ignored> (Too intrusive)
	[experimental] - foo 1.5~rc1-1
CVE-2023-9002 (zlib like, sid only)
	- zlib 1:1.3.dfsg-2 (bug #1054290)
	- minizip <removed>
CVE-2023-9003 [gone]
	NOT-FOR-US: Something else
CVE-2023-9004
	RESERVED
CVE-2023-9005 (apt)
	- apt <unfixed> (unimportant)
	[bookworm] - apt <not-affected> (Vulnerable code not present)
CVE-2023-9006 (todo)
	- bar <undetermined>
	TODO: check
CVE-2023-9007 (never)
	- baz 0
	[trixie] - baz <removed>
`

func TestCVEListLoad(t *testing.T) {
	ctx := context.Background()
	l := CVEList()
	if !l.Detect("list", []byte(cveListSample)) {
		t.Fatal("Detect rejected a CVE list")
	}
	m := advisory.NewMemory()
	n, err := l.Load(ctx, "list", strings.NewReader(cveListSample), m)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("records = %d, want 5 (NOT-FOR-US and RESERVED skipped)", n)
	}
	if ids := m.IDs(); len(ids) != 5 || ids[0] != "CVE-2023-9001" {
		t.Errorf("ids = %v", ids)
	}
	v, _, _ := m.Vulnerability(ctx, "CVE-2023-9001")
	if v.Summary != "Overflow in foo ..." || len(v.References) != 1 || !strings.HasSuffix(v.References[0], "/DSA-5999-1") {
		t.Errorf("vuln = %+v", v)
	}
	tests := []struct {
		eco, pkg, id string
		status       advisory.AffectedStatus
		fixed        string
		sev          model.Severity
		note         string
		absent       bool
	}{
		{eco: "Debian:12", pkg: "foo", id: "CVE-2023-9001", fixed: "1.2-1+deb12u1", sev: model.SeverityLow},
		{eco: "Debian:11", pkg: "foo", id: "CVE-2023-9001", status: advisory.AffectedUnfixed, note: "no DSA: Minor issue", sev: model.SeverityLow},
		{eco: "Debian:10", pkg: "foo", id: "CVE-2023-9001", status: advisory.AffectedWillNotFix, note: "ignored: Too intrusive"},
		{eco: "Debian:13", pkg: "foo", id: "CVE-2023-9001", status: advisory.AffectedUnfixed, fixed: "1.5-1", note: "fixed in unstable 1.5-1"},
		{eco: "Debian:12", pkg: "zlib", id: "CVE-2023-9002", status: advisory.AffectedUnfixed, fixed: "1:1.3.dfsg-2", note: "no fix for this release yet"},
		{eco: "Debian:12", pkg: "minizip", id: "CVE-2023-9002", status: advisory.AffectedUnfixed, note: "removed from unstable"},
		{eco: "Debian:12", pkg: "apt", id: "CVE-2023-9005", status: advisory.AffectedNot, sev: model.SeverityLow},
		{eco: "Debian:11", pkg: "apt", id: "CVE-2023-9005", status: advisory.AffectedUnfixed, sev: model.SeverityLow, note: "urgency: unimportant"},
		{eco: "Debian:12", pkg: "bar", id: "CVE-2023-9006", status: advisory.AffectedUnfixed, note: "TODO: check"},
		{eco: "Debian:12", pkg: "baz", id: "CVE-2023-9007", status: advisory.AffectedNot},
		{eco: "Debian:13", pkg: "baz", id: "CVE-2023-9007", status: advisory.AffectedNot, note: "removed"},
		{eco: "Debian:9", pkg: "foo", id: "CVE-2023-9001", absent: true},
		{eco: "Debian:12", pkg: "something", id: "CVE-2023-9003", absent: true},
	}
	for _, tt := range tests {
		a, ok := find(t, m, tt.eco, tt.pkg, tt.id)
		if ok == tt.absent {
			t.Errorf("%s %s %s: present = %v", tt.eco, tt.pkg, tt.id, ok)
			continue
		}
		if tt.absent {
			continue
		}
		if a.Status != tt.status || fixedOf(a) != tt.fixed || (tt.sev != "" && a.Severity != tt.sev) || !strings.Contains(a.Note, tt.note) || a.Source != SourceTracker {
			t.Errorf("%s %s %s = %+v", tt.eco, tt.pkg, tt.id, a)
		}
	}
	if c := m.Counts(); c["Debian:14"] != 0 || c["Debian:9"] != 0 {
		t.Errorf("unexpected ecosystems %v", c)
	}
}

func TestCVEListInheritOption(t *testing.T) {
	m := advisory.NewMemory()
	_, err := CVEList(WithInheritReleases("bookworm")).Load(context.Background(), "l", strings.NewReader(cveListSample), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(t, m, "Debian:11", "zlib", "CVE-2023-9002"); ok {
		t.Error("bullseye inherited although not in the inherit set")
	}
	if _, ok := find(t, m, "Debian:12", "zlib", "CVE-2023-9002"); !ok {
		t.Error("bookworm did not inherit")
	}
}

const dsaListSample = `[29 Mar 2023] DSA-5380-1 xorg-server - security update
	{CVE-2023-1393 CVE-2023-0494}
	[bullseye] - xorg-server 2:1.20.11-1+deb11u6
	[buster] - xorg-server <not-affected> (Vulnerable code not present)
	[sid] - xorg-server 2:21.1.7-1
[August 26th, 2005] DTSA-1-1 kismet - various
	{CVE-2005-2626 CVE-2005-2627 }
	[etch] - kismet 2005.08.R1-0.1etch1 (high)
	NOTE: end of security support
[01 Apr 2014] DSA-2900-1 typo3 - end of life
	[wheezy] - typo3-src <end-of-life>
	[squeeze] - typo3-src <unfixed>
`

func TestListLoad(t *testing.T) {
	ctx := context.Background()
	l := List()
	m := advisory.NewMemory()
	n, err := l.Load(ctx, "DSA/list", strings.NewReader(dsaListSample), m)
	if err != nil || n != 3 {
		t.Fatalf("Load = %d, %v; want 3", n, err)
	}
	v, ok, _ := m.Vulnerability(ctx, "DSA-5380-1")
	if !ok || v.Summary != "xorg-server - security update" || !reflect.DeepEqual(v.Aliases, []string{"CVE-2023-1393", "CVE-2023-0494"}) ||
		v.Published.Format("2006-01-02") != "2023-03-29" || v.Source != SourceDSA {
		t.Errorf("DSA-5380-1 = %+v", v)
	}
	d, _, _ := m.Vulnerability(ctx, "DTSA-1-1")
	if d.Published.Format("2006-01-02") != "2005-08-26" || len(d.Aliases) != 2 {
		t.Errorf("DTSA-1-1 = %+v", d)
	}
	tests := []struct {
		eco, pkg, id string
		status       advisory.AffectedStatus
		fixed        string
		sev          model.Severity
	}{
		{"Debian:11", "xorg-server", "DSA-5380-1", "", "2:1.20.11-1+deb11u6", ""},
		{"Debian:10", "xorg-server", "DSA-5380-1", advisory.AffectedNot, "", ""},
		{"Debian:4", "kismet", "DTSA-1-1", "", "2005.08.R1-0.1etch1", model.SeverityHigh},
		{"Debian:7", "typo3-src", "DSA-2900-1", advisory.AffectedWillNotFix, "", ""},
		{"Debian:6", "typo3-src", "DSA-2900-1", advisory.AffectedUnfixed, "", ""},
	}
	for _, tt := range tests {
		a, ok := find(t, m, tt.eco, tt.pkg, tt.id)
		if !ok || a.Status != tt.status || fixedOf(a) != tt.fixed || a.Severity != tt.sev {
			t.Errorf("%s %s %s = %+v (found %v)", tt.eco, tt.pkg, tt.id, a, ok)
		}
	}
	if _, err := l.Load(ctx, "x", strings.NewReader("just text\n"), advisory.NewMemory()); err == nil {
		t.Error("Load of non-list text gave no error")
	}
}

const trackerSample = `{
 "zlib": {
  "CVE-2023-45853": {"description": "MiniZip overflow", "scope": "local", "debianbug": 1054290,
   "releases": {
    "bookworm": {"status": "open", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}, "urgency": "not yet assigned", "nodsa": "Minor issue", "nodsa_reason": ""},
    "bullseye": {"status": "open", "urgency": "low*", "nodsa": "Minor issue", "nodsa_reason": "postponed"},
    "buster": {"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "ignored"},
    "sid": {"status": "resolved", "fixed_version": "1:1.3.dfsg-2", "urgency": "not yet assigned"}
   }}
 },
 "prototypejs": {
  "CVE-2007-2383": {"description": "hijacking", "releases": {
    "stretch": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"},
    "buster": {"status": "resolved", "fixed_version": "1.6.0.2-1", "urgency": "high**"},
    "trixie": {"status": "undetermined", "urgency": "medium"}
  }}
 }
}`

func TestTrackerJSON(t *testing.T) {
	ctx := context.Background()
	l := TrackerJSON()
	if !l.Detect("data.json", []byte(trackerSample)) {
		t.Fatal("Detect rejected tracker JSON")
	}
	for _, osv := range []string{`{"schema_version":"1.6.0","id":"X","affected":[{"ranges":[]}]}`, `{"Header":{}}`, `[1,2]`} {
		if l.Detect("x.json", []byte(osv)) {
			t.Errorf("Detect claimed %s", osv)
		}
	}
	m := advisory.NewMemory()
	n, err := l.Load(ctx, "data.json", strings.NewReader(trackerSample), m)
	if err != nil || n != 2 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	tests := []struct {
		eco, pkg, id string
		status       advisory.AffectedStatus
		fixed        string
		sev          model.Severity
		note         string
	}{
		{"Debian:12", "zlib", "CVE-2023-45853", advisory.AffectedUnfixed, "", "", "no DSA: Minor issue"},
		{"Debian:11", "zlib", "CVE-2023-45853", advisory.AffectedUnfixed, "", model.SeverityLow, "postponed: Minor issue"},
		{"Debian:10", "zlib", "CVE-2023-45853", advisory.AffectedWillNotFix, "", model.SeverityLow, "ignored"},
		{"Debian:9", "prototypejs", "CVE-2007-2383", advisory.AffectedNot, "", model.SeverityLow, "unimportant"},
		{"Debian:10", "prototypejs", "CVE-2007-2383", "", "1.6.0.2-1", model.SeverityHigh, ""},
		{"Debian:13", "prototypejs", "CVE-2007-2383", advisory.AffectedUnfixed, "", model.SeverityMedium, "undetermined"},
	}
	for _, tt := range tests {
		a, ok := find(t, m, tt.eco, tt.pkg, tt.id)
		if !ok || a.Status != tt.status || fixedOf(a) != tt.fixed || a.Severity != tt.sev || !strings.Contains(a.Note, tt.note) {
			t.Errorf("%s %s %s = %+v (found %v)", tt.eco, tt.pkg, tt.id, a, ok)
		}
	}
	for _, bad := range []string{`{"zlib": [1]}`, `{"zlib": {"CVE-1": {"releases": {"bookworm": 5}}}}`, `{"a": {}`, `[]`} {
		if _, err := l.Load(ctx, "bad.json", strings.NewReader(bad), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%s) gave no error", bad)
		}
	}
}

func TestVulnList(t *testing.T) {
	ctx := context.Background()
	doc := `{"Header":{"Original":"[23 Apr 2024] DSA-5673-1 glibc - security update","ID":"DSA-5673-1","Description":"glibc - security update"},
 "Annotations":[{"Original":"{CVE-2024-2961}","Type":"xref"},{"Original":"[bookworm] - glibc 2.36-9+deb12u6","Type":"package"}]}`
	l := VulnList()
	if !l.Detect("tracker/DSA/DSA-5673-1.json", []byte(doc)) {
		t.Fatal("Detect rejected vuln-list DSA")
	}
	m := advisory.NewMemory()
	if n, err := l.Load(ctx, "DSA-5673-1.json", strings.NewReader(doc), m); err != nil || n != 1 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	a, ok := find(t, m, "Debian:12", "glibc", "DSA-5673-1")
	if !ok || fixedOf(a) != "2.36-9+deb12u6" {
		t.Errorf("glibc = %+v", a)
	}
	if _, err := l.Load(ctx, "x.json", strings.NewReader(`{"Header":{"Original":"hello"}}`), m); err == nil {
		t.Error("unrecognised header gave no error")
	}
}

func TestDetectSpecific(t *testing.T) {
	inputs := map[string]string{
		"cve":     cveListSample,
		"dsa":     dsaListSample,
		"tracker": trackerSample,
		"osv":     `{"schema_version":"1.4.0","id":"GO-1","affected":[]}`,
		"csv":     "CVE-2023-1,foo\nCVE-2023-2,bar\n",
		"yaml":    "gem: foo\ncve: 2020-1\n",
	}
	loaders := map[string]interface {
		Detect(string, []byte) bool
	}{"cve": CVEList(), "dsa": List(), "tracker": TrackerJSON()}
	for ln, l := range loaders {
		for in, data := range inputs {
			if got, want := l.Detect("f", []byte(data)), ln == in; got != want {
				t.Errorf("%s.Detect(%s) = %v, want %v", ln, in, got, want)
			}
		}
	}
}
