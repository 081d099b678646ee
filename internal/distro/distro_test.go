package distro

import (
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	debian12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`
	// Distroless ships Debian's file without VERSION_CODENAME.
	distroless = `PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
`
	ubuntu2204 = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
`
	alpine319 = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`
	rhel9 = `NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
`
	mariner2 = `NAME="Common Base Linux Mariner"
VERSION="2.0.20240123"
ID=mariner
VERSION_ID="2.0"
PRETTY_NAME="CBL-Mariner/Linux"
ANSI_COLOR="1;34"
HOME_URL="https://aka.ms/cbl-mariner"
`
	wolfi = `ID=wolfi
NAME="Wolfi"
PRETTY_NAME="Wolfi"
VERSION_ID="20230201"
HOME_URL="https://wolfi.dev"
`
	debianSid = `PRETTY_NAME="Debian GNU/Linux trixie/sid"
NAME="Debian GNU/Linux"
VERSION_CODENAME=trixie
ID=debian
`
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  *model.Distro
	}{
		{"debian 12", map[string]string{"etc/os-release": debian12},
			&model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		{"distroless", map[string]string{"etc/os-release": distroless},
			&model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Distroless"}},
		{"ubuntu 22.04 crlf", map[string]string{"etc/os-release": strings.ReplaceAll(ubuntu2204, "\n", "\r\n")},
			&model.Distro{ID: "ubuntu", VersionID: "22.04", Codename: "jammy", PrettyName: "Ubuntu 22.04.4 LTS", IDLike: []string{"debian"}}},
		{"alpine 3.19", map[string]string{"etc/os-release": alpine319, "etc/alpine-release": "3.19.1\n"},
			&model.Distro{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"}},
		{"rhel 9", map[string]string{"etc/os-release": rhel9, "etc/redhat-release": "Red Hat Enterprise Linux release 9.3 (Plow)\n"},
			&model.Distro{ID: "rhel", VersionID: "9.3", Codename: "plow", PrettyName: "Red Hat Enterprise Linux 9.3 (Plow)", IDLike: []string{"fedora"}}},
		{"mariner 2", map[string]string{"etc/os-release": mariner2},
			&model.Distro{ID: "mariner", VersionID: "2.0", PrettyName: "CBL-Mariner/Linux"}},
		{"wolfi", map[string]string{"etc/os-release": wolfi},
			&model.Distro{ID: "wolfi", VersionID: "20230201", PrettyName: "Wolfi"}},
		{"debian sid takes debian_version", map[string]string{"etc/os-release": debianSid, "etc/debian_version": "trixie/sid\n"},
			&model.Distro{ID: "debian", VersionID: "trixie/sid", Codename: "trixie", PrettyName: "Debian GNU/Linux trixie/sid"}},
		{"usr/lib fallback", map[string]string{"usr/lib/os-release": debian12},
			&model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		{"etc wins over usr/lib", map[string]string{"etc/os-release": alpine319, "usr/lib/os-release": debian12},
			&model.Distro{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"}},
		{"empty etc falls back to usr/lib", map[string]string{"etc/os-release": "", "usr/lib/os-release": debian12},
			&model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		{"alpine-release only", map[string]string{"etc/alpine-release": "3.18.4\n"},
			&model.Distro{ID: "alpine", VersionID: "3.18.4", PrettyName: "Alpine Linux v3.18"}},
		{"centos 7 release file", map[string]string{"etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n", "etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"},
			&model.Distro{ID: "centos", VersionID: "7", Codename: "core", PrettyName: "CentOS Linux release 7.9.2009 (Core)"}},
		{"rhel 7 release file", map[string]string{"etc/redhat-release": "Red Hat Enterprise Linux Server release 7.9 (Maipo)"},
			&model.Distro{ID: "rhel", VersionID: "7.9", Codename: "maipo", PrettyName: "Red Hat Enterprise Linux Server release 7.9 (Maipo)"}},
		{"amazon linux 1", map[string]string{"etc/system-release": "Amazon Linux AMI release 2018.03\n"},
			&model.Distro{ID: "amzn", VersionID: "2018.03", PrettyName: "Amazon Linux AMI release 2018.03"}},
		{"lsb-release beats debian_version", map[string]string{"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\nDISTRIB_DESCRIPTION=\"Ubuntu 18.04.6 LTS\"\n", "etc/debian_version": "buster/sid\n"},
			&model.Distro{ID: "ubuntu", VersionID: "18.04", Codename: "bionic", PrettyName: "Ubuntu 18.04.6 LTS"}},
		{"debian_version only", map[string]string{"etc/debian_version": "10.13\n"},
			&model.Distro{ID: "debian", VersionID: "10", PrettyName: "Debian GNU/Linux 10.13"}},
		{"nothing", map[string]string{"etc/hostname": "x"}, nil},
		{"os-release without ID", map[string]string{"etc/os-release": "NAME=foo\n"}, nil},
		{"unknown release file", map[string]string{"etc/redhat-release": "Something else entirely"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range tc.files {
				files[k] = []byte(v)
			}
			got, err := Detect(files)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDetectTooLarge(t *testing.T) {
	big := []byte("ID=debian\n" + strings.Repeat("#", maxFileSize))
	d, err := Detect(map[string][]byte{"etc/os-release": big})
	if err == nil || d != nil {
		t.Errorf("oversized os-release: got %+v, %v; want an error", d, err)
	}
	// A usable fallback still wins over the error.
	d, err = Detect(map[string][]byte{"etc/os-release": big, "etc/alpine-release": []byte("3.19.0")})
	if err != nil || d == nil || d.ID != "alpine" {
		t.Errorf("fallback: got %+v, %v", d, err)
	}
}

func TestWants(t *testing.T) {
	for path, want := range map[string]bool{
		"etc/os-release": true, "usr/lib/os-release": true, "etc/alpine-release": true, "etc/debian_version": true,
		"etc/redhat-release": true, "etc/centos-release": true, "etc/system-release": true, "etc/lsb-release": true,
		"etc/passwd": false, "/etc/os-release": false, "etc/os-release.d/x": false,
	} {
		if got := Wants(path); got != want {
			t.Errorf("Wants(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	got := ParseOSRelease([]byte("# comment\r\nA=bare\r\nB=\"double \\\"quoted\\\" \\$x\"\nC='single \"x\"'\n  D = spaced \nE=\"unterminated\nbad line\nlower_key=ok\nF=v # trailing comment\nG=\n-X=no\n"))
	want := map[string]string{"A": "bare", "B": `double "quoted" $x`, "C": `single "x"`, "E": "unterminated", "lower_key": "ok", "F": "v", "G": ""}
	// "  D = spaced" has a space before '=', not a valid key.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func FuzzParseOSRelease(f *testing.F) {
	for _, s := range []string{debian12, ubuntu2204, alpine319, rhel9, "A=\"\\", "X='"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kv := ParseOSRelease(data)
		for k := range kv {
			if !validKey(k) {
				t.Fatalf("invalid key %q", k)
			}
		}
		d, err := Detect(map[string][]byte{"etc/os-release": data})
		if err == nil && d != nil && d.ID == "" {
			t.Fatal("distro without ID")
		}
	})
}

func TestMarkEOL(t *testing.T) {
	at := func(s string) time.Time { tm, _ := time.Parse(time.DateOnly, s); return tm }
	for _, tc := range []struct {
		d       model.Distro
		now     string
		eol     bool
		eolDate string
	}{
		{model.Distro{ID: "debian", VersionID: "12"}, "2026-01-01", false, "2028-06-30"},
		{model.Distro{ID: "debian", VersionID: "12.5"}, "2028-07-01", true, "2028-06-30"},
		{model.Distro{ID: "debian", VersionID: "12"}, "2028-06-30", false, "2028-06-30"}, // last day still supported
		{model.Distro{ID: "debian", VersionID: "9"}, "2026-01-01", true, "2022-06-30"},
		{model.Distro{ID: "ubuntu", VersionID: "18.04"}, "2026-01-01", true, "2023-05-31"},
		{model.Distro{ID: "ubuntu", VersionID: "22.04"}, "2026-01-01", false, "2027-04-30"},
		{model.Distro{ID: "alpine", VersionID: "3.18.4"}, "2026-01-01", true, "2025-05-09"},
		{model.Distro{ID: "alpine", VersionID: "3.22.0"}, "2026-01-01", false, "2027-05-01"},
		{model.Distro{ID: "rhel", VersionID: "9.3"}, "2026-01-01", false, "2032-05-31"},
		{model.Distro{ID: "centos", VersionID: "7"}, "2026-01-01", true, "2024-06-30"},
		{model.Distro{ID: "centos", VersionID: "8", PrettyName: "CentOS Stream 8"}, "2024-05-01", false, "2024-05-31"},
		{model.Distro{ID: "centos", VersionID: "8", PrettyName: "CentOS Linux 8"}, "2024-05-01", true, "2021-12-31"},
		{model.Distro{ID: "amzn", VersionID: "2018.03"}, "2026-01-01", true, "2023-12-31"},
		{model.Distro{ID: "amzn", VersionID: "2023"}, "2026-01-01", false, "2029-06-30"},
		{model.Distro{ID: "mariner", VersionID: "2.0"}, "2026-01-01", true, "2025-07-31"},
		{model.Distro{ID: "sles", VersionID: "15.5"}, "2026-01-01", true, "2024-12-31"},
		{model.Distro{ID: "wolfi", VersionID: "20230201"}, "2026-01-01", false, ""},
		{model.Distro{ID: "debian", VersionID: "trixie/sid"}, "2026-01-01", false, ""},
	} {
		d := tc.d
		MarkEOL(&d, at(tc.now))
		if d.EOL != tc.eol || d.EOLDate != tc.eolDate {
			t.Errorf("%s %s at %s: EOL=%v %q, want %v %q", tc.d.ID, tc.d.VersionID, tc.now, d.EOL, d.EOLDate, tc.eol, tc.eolDate)
		}
	}
	MarkEOL(nil, time.Now()) // must not panic
}

func TestEOLTableValid(t *testing.T) {
	for id, rel := range eolDates {
		for k, date := range rel {
			if _, err := time.Parse(time.DateOnly, date); err != nil {
				t.Errorf("%s %s: bad date %q", id, k, date)
			}
		}
	}
	for _, id := range []string{"debian", "ubuntu", "alpine", "rhel", "centos", "rocky", "almalinux", "amzn", "fedora", "mariner", "sles", "opensuse-leap"} {
		if len(eolDates[id]) == 0 {
			t.Errorf("no EOL data for %s", id)
		}
	}
	for v := 0; v <= 22; v++ {
		if _, ok := eolDates["alpine"]["3."+strconv.Itoa(v)]; !ok {
			t.Errorf("no EOL for alpine 3.%d", v)
		}
	}
}

func TestDetectFixture(t *testing.T) {
	dir := "../../../shared/fixtures/pkgdb/dpkg/debian-12-minbase"
	osr, err := os.ReadFile(filepath.Join(dir, "usr/lib/os-release"))
	if os.IsNotExist(err) {
		testenv.Skipf(t, "needs ../shared/fixtures/pkgdb (dpkg/debian-12-minbase)")
	}
	if err != nil {
		t.Fatal(err)
	}
	dv, err := os.ReadFile(filepath.Join(dir, "etc/debian_version"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Detect(map[string][]byte{"usr/lib/os-release": osr, "etc/debian_version": dv})
	if err != nil || d == nil {
		t.Fatal(d, err)
	}
	if d.ID != "debian" || d.VersionID != "12" || d.Codename != "bookworm" {
		t.Errorf("got %+v", d)
	}
}
