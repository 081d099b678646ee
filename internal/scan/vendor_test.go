package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/update"
)

var (
	vendorOnce  sync.Once
	vendorCache string
	vendorErr   error
)

// cacheWithVendorDB builds a DB from the vendor samples beside the loaders
// (Red Hat CSAF VEX; Amazon's and Oracle's updateinfo; Photon's CVE metadata; the OSV exports of AlmaLinux, Rocky, SUSE, openSUSE,
// Azure Linux, Wolfi and Chainguard), written in each upstream's format.
func cacheWithVendorDB(t *testing.T) string {
	t.Helper()
	vendorOnce.Do(func() {
		var srcs []string
		for _, g := range []string{"../feed/redhat/testdata/cve-*.json", "../feed/osv/testdata/vendors/*.json", "../feed/updateinfo/testdata/*.xml", "../feed/photon/testdata/cve_data_photon*.json"} {
			m, _ := filepath.Glob(g)
			srcs = append(srcs, m...)
		}
		vendorCache, vendorErr = os.MkdirTemp("", "bulwark-vendor-cache-*")
		if vendorErr == nil {
			_, vendorErr = update.Run(context.Background(), scan.DBDir(vendorCache), update.Options{Sources: srcs})
		}
	})
	if vendorErr != nil {
		t.Fatal(vendorErr)
	}
	t.Cleanup(func() { os.RemoveAll(vendorCache) })
	return vendorCache
}

// TestScanRPMDistrosAssessed: the real RPM (and apk) package DBs under
// each family's os-release, which the shared feeds leave not assessed
// (TestScanRPMDistrosNotAssessed), are assessed once the vendor's data is
// in the DB, and the vendor's fix is found with rpm's version rules.
func TestScanRPMDistrosAssessed(t *testing.T) {
	cache := cacheWithVendorDB(t)
	cases := []struct {
		name, fixture, osRelease, part, vuln, pkg, fixed string
	}{
		{"RHEL 9", "fixtures/pkgdb/rpm/cbl-mariner-2.0", "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n",
			"Red Hat:9", "CVE-2023-5678", "openssl", "1:3.0.7-25.el9_3"},
		{"RHEL 8", "fixtures/pkgdb/rpm/bdb-libuuid", "ID=\"rhel\"\nVERSION_ID=\"8.8\"\n",
			"Red Hat:8", "CVE-2024-28085", "libuuid", "2.32.1-46.el8"},
		{"AlmaLinux 8", "fixtures/pkgdb/rpm/bdb-libuuid", "ID=\"almalinux\"\nVERSION_ID=\"8.8\"\n",
			"AlmaLinux:8", "ALSA-2024:3264", "libuuid", "2.32.1-46.el8"},
		{"Rocky 8", "fixtures/pkgdb/rpm/bdb-libuuid", "ID=\"rocky\"\nVERSION_ID=\"8.8\"\n",
			"Rocky Linux:8", "RLSA-2024:3264", "libuuid", "2.32.1-46.el8"},
		{"SLES 15 SP5", "fixtures/pkgdb/rpm/sle15-bci", "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\n",
			"SUSE:Linux Enterprise Module for Basesystem 15 SP5", "SUSE-SU-2024:0281-1", "glibc", "2.31-150300.68.1"},
		{"openSUSE Leap 15.5", "fixtures/pkgdb/rpm/sle15-bci", "NAME=\"openSUSE Leap\"\nVERSION_ID=\"15.5\"\nID=\"opensuse-leap\"\n",
			"openSUSE:Leap 15.5", "openSUSE-SU-2024:0287-1", "bash", "4.4-150400.27.6.1"},
		{"CBL-Mariner 2.0", "fixtures/pkgdb/rpm/cbl-mariner-2.0", "NAME=\"Common Base Linux Mariner\"\nVERSION_ID=\"2.0\"\nID=mariner\n",
			"Azure Linux:2", "AZL-41312", "openssl", "1.1.1k-21.cm2"},
		{"Amazon Linux 2023", "fixtures/pkgdb/rpm/bdb-libuuid", "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n",
			"Amazon Linux:2023", "ALAS2023-2024-577", "libuuid", "2.37.4-1.amzn2023.0.4"},
		{"Oracle Linux 8", "fixtures/pkgdb/rpm/bdb-libuuid", "NAME=\"Oracle Linux Server\"\nID=\"ol\"\nVERSION_ID=\"8.8\"\n",
			"Oracle Linux:8", "ELSA-2024-3347", "libuuid", "2.32.1-46.0.1.el8"},
		{"Photon OS 4.0", "fixtures/pkgdb/rpm/cbl-mariner-2.0", "NAME=\"VMware Photon OS\"\nVERSION_ID=4.0\nID=photon\n",
			"Photon OS:4.0", "CVE-2023-0286", "openssl", "3.0.8-1.ph4"},
		{"Wolfi", "fixtures/pkgdb/apk/alpine-3.18-base", "ID=wolfi\nNAME=\"Wolfi\"\nVERSION_ID=\"20230201\"\n",
			"Wolfi", "CVE-2023-42366", "busybox", "1.36.1-r7"},
		{"Chainguard", "fixtures/pkgdb/apk/alpine-3.18-base", "ID=chainguard\nNAME=\"Chainguard\"\nVERSION_ID=\"20230214\"\n",
			"Chainguard", "CVE-2023-42366", "busybox", "1.36.1-r7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := rootfsWith(t, c.fixture, c.osRelease)
			r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cache))
			if err != nil {
				t.Fatal(err)
			}
			checkCoverage(t, r, []string{c.part}, nil)
			if r.Summary.Verdict == model.VerdictNotAssessed {
				t.Errorf("verdict still not assessed")
			}
			found := false
			for _, f := range r.Findings {
				if (f.ID == c.vuln || slices.Contains(f.Aliases, c.vuln)) && f.Package.Name == c.pkg {
					found = true
					if f.FixedVersion != c.fixed || f.Status != model.StatusFixed {
						t.Errorf("%s on %s: status %s fixed %q, want fixed %q", c.vuln, c.pkg, f.Status, f.FixedVersion, c.fixed)
					}
				}
			}
			if !found {
				var ids []string
				for _, f := range r.Findings {
					ids = append(ids, f.ID+"/"+f.Package.Name)
				}
				t.Errorf("no %s finding on %s; findings %v", c.vuln, c.pkg, ids)
			}
		})
	}
}
