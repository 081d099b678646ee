// Command feedgen writes synthetic vulnerability feeds in each upstream's
// published format, at the record counts the real feeds have, so
// bench/vulndata.sh can measure DB build time and size per source without
// reaching any upstream. Content is synthetic; shapes follow the loaders'
// test samples (internal/feed/*/testdata).
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "bench/out/feeds", "output folder (one subfolder per source)")
	redhat := flag.Int("redhat", 30000, "Red Hat CSAF VEX documents (one per CVE)")
	osv := flag.Int("osv", 20000, "OSV vendor records (AlmaLinux-style advisories)")
	updateinfo := flag.Int("updateinfo", 5000, "updateinfo <update> entries (Amazon Linux)")
	photon := flag.Int("photon", 20000, "Photon CVE metadata rows")
	epss := flag.Int("epss", 280000, "EPSS rows")
	nvd := flag.Int("nvd", 300000, "NVD CVEs (API 2.0 pages of 2000)")
	flag.Parse()
	for _, g := range []struct {
		name string
		n    int
		fn   func(dir string, n int) error
	}{
		{"redhat", *redhat, genRedHat}, {"osv", *osv, genOSV}, {"updateinfo", *updateinfo, genUpdateinfo},
		{"photon", *photon, genPhoton}, {"epss", *epss, genEPSS}, {"nvd", *nvd, genNVD},
	} {
		dir := filepath.Join(*out, g.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		if err := g.fn(dir, g.n); err != nil {
			log.Fatalf("%s: %v", g.name, err)
		}
	}
}

func pkgName(i int) string { return fmt.Sprintf("pkg%d", i%3000) }

// cveID: the first 40,000 NVD and EPSS rows name the CVEs the vendor
// advisories name (CVE-2025-100000…), as the real feeds do; the rest are
// CVEs no package advisory names, which the DB leaves out.
func cveID(i int) string {
	if i < 40000 {
		return fmt.Sprintf("CVE-2025-%d", 100000+i)
	}
	return fmt.Sprintf("CVE-%d-%d", 1999+i%25, 1000000+i)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func genRedHat(dir string, n int) error {
	for i := range n {
		cve := fmt.Sprintf("CVE-2025-%d", 100000+i)
		p := pkgName(i)
		fixed := fmt.Sprintf("%s-1:1.%d-3.el9_4.src", p, i%50)
		doc := map[string]any{
			"document": map[string]any{"category": "csaf_vex", "csaf_version": "2.0",
				"publisher": map[string]any{"name": "Red Hat Product Security", "category": "vendor", "namespace": "https://www.redhat.com"},
				"tracking":  map[string]any{"id": cve, "current_release_date": "2025-11-14T03:23:51+00:00", "initial_release_date": "2025-01-01T00:00:00+00:00"}},
			"product_tree": map[string]any{
				"branches": []any{map[string]any{"category": "vendor", "name": "Red Hat", "branches": []any{
					map[string]any{"category": "product_family", "name": "Red Hat Enterprise Linux", "branches": []any{
						map[string]any{"category": "product_name", "name": "RHEL 9 AppStream", "product": map[string]any{"name": "RHEL 9 AppStream", "product_id": "AppStream-9.4.0.Z.MAIN", "product_identification_helper": map[string]any{"cpe": "cpe:/a:redhat:enterprise_linux:9::appstream"}}},
						map[string]any{"category": "product_name", "name": "Red Hat Enterprise Linux 8", "product": map[string]any{"name": "Red Hat Enterprise Linux 8", "product_id": "red_hat_enterprise_linux_8", "product_identification_helper": map[string]any{"cpe": "cpe:/o:redhat:enterprise_linux:8"}}},
					}},
					map[string]any{"category": "architecture", "name": "src", "branches": []any{
						map[string]any{"category": "product_version", "name": fixed, "product": map[string]any{"name": fixed, "product_id": fixed, "product_identification_helper": map[string]any{"purl": fmt.Sprintf("pkg:rpm/redhat/%s@1.%d-3.el9_4?arch=src&epoch=1", p, i%50)}}},
						map[string]any{"category": "product_version", "name": p, "product": map[string]any{"name": p, "product_id": p, "product_identification_helper": map[string]any{"purl": "pkg:rpm/redhat/" + p + "?arch=src"}}},
					}},
				}}},
				"relationships": []any{
					map[string]any{"category": "default_component_of", "full_product_name": map[string]any{"name": "x", "product_id": "AppStream-9.4.0.Z.MAIN:" + fixed}, "product_reference": fixed, "relates_to_product_reference": "AppStream-9.4.0.Z.MAIN"},
					map[string]any{"category": "default_component_of", "full_product_name": map[string]any{"name": "y", "product_id": "red_hat_enterprise_linux_8:" + p}, "product_reference": p, "relates_to_product_reference": "red_hat_enterprise_linux_8"},
				},
			},
			"vulnerabilities": []any{map[string]any{"cve": cve, "title": "synthetic flaw in " + p,
				"notes":          []any{map[string]any{"category": "description", "text": "A synthetic flaw for benchmarking the loader."}},
				"product_status": map[string]any{"fixed": []string{"AppStream-9.4.0.Z.MAIN:" + fixed}, "known_affected": []string{"red_hat_enterprise_linux_8:" + p}},
				"remediations":   []any{map[string]any{"category": "no_fix_planned", "details": "Will not fix", "product_ids": []string{"red_hat_enterprise_linux_8:" + p}}},
				"scores":         []any{map[string]any{"cvss_v3": map[string]any{"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "baseScore": 7.5}}},
				"threats":        []any{map[string]any{"category": "impact", "details": "Important"}},
			}},
		}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("cve-2025-%d.json", 100000+i)), doc); err != nil {
			return err
		}
	}
	return nil
}

func genOSV(dir string, n int) error {
	for i := range n {
		id := fmt.Sprintf("ALSA-2025:%d", 10000+i)
		rec := map[string]any{"schema_version": "1.6.0", "id": id, "summary": "Important: synthetic update", "details": "synthetic",
			"published": "2025-05-22T00:00:00Z", "modified": "2025-05-29T11:07:36Z", "aliases": []string{fmt.Sprintf("CVE-2025-%d", 100000+i)},
			"affected": []any{map[string]any{"package": map[string]any{"ecosystem": fmt.Sprintf("AlmaLinux:%d", 8+i%2), "name": pkgName(i)},
				"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": fmt.Sprintf("1.%d-3.el9", i%50)}}}}}}}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("ALSA-2025-%d.json", 10000+i)), rec); err != nil {
			return err
		}
	}
	return nil
}

func genUpdateinfo(dir string, n int) error {
	f, err := os.Create(filepath.Join(dir, "al2023-updateinfo.xml"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `<?xml version="1.0" ?>`+"\n<updates>")
	for i := range n {
		p := pkgName(i)
		fmt.Fprintf(w, `<update author="linux-security@amazon.com" from="linux-security@amazon.com" status="final" type="security" version="1.4">
<id>ALAS2023-2025-%d</id><title>Amazon Linux 2023 - ALAS2023-2025-%d: important priority package update for %s</title>
<issued date="2025-04-10 20:14:00" /><updated date="2025-04-17 00:32:00" /><severity>important</severity>
<description>Package updates are available for Amazon Linux 2023 that fix the following vulnerabilities: CVE-2025-%d</description>
<references><reference href="https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2025-%d" id="CVE-2025-%d" title="" type="cve" /></references>
<pkglist><collection short="amazon-linux-2023---amazonlinux"><name>amazon-linux-2023---amazonlinux</name>
<package arch="x86_64" epoch="0" name="%s" release="1.amzn2023.0.%d" version="1.%d"><filename>Packages/x.rpm</filename></package>
<package arch="aarch64" epoch="0" name="%s" release="1.amzn2023.0.%d" version="1.%d"><filename>Packages/x.rpm</filename></package>
<package arch="x86_64" epoch="0" name="%s-libs" release="1.amzn2023.0.%d" version="1.%d"><filename>Packages/x.rpm</filename></package>
</collection></pkglist></update>
`, i, i, p, 100000+i, 100000+i, 100000+i, p, i%9, i%50, p, i%9, i%50, p, i%9, i%50)
	}
	fmt.Fprintln(w, "</updates>")
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func genPhoton(dir string, n int) error {
	var rows []any
	for i := range n {
		rows = append(rows, map[string]any{"cve_id": fmt.Sprintf("CVE-2025-%d", 100000+i), "pkg": pkgName(i), "cve_score": float64(i%100) / 10,
			"aff_ver": "all versions before 1.2-3.ph5 are vulnerable", "res_ver": fmt.Sprintf("1.%d-3.ph5", i%50), "status": "Affected"})
	}
	return writeJSON(filepath.Join(dir, "cve_data_photon5.0.json"), rows)
}

func genEPSS(dir string, n int) error {
	f, err := os.Create(filepath.Join(dir, "epss_scores-current.csv.gz"))
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	w := bufio.NewWriter(gz)
	fmt.Fprintln(w, "#model_version:v2025.03.14,score_date:2025-12-05T12:55:00Z\ncve,epss,percentile")
	for i := range n {
		fmt.Fprintf(w, "%s,%.5f,%.5f\n", cveID(i), float64(i%1000)/1000, float64(i%997)/997)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

func genNVD(dir string, n int) error {
	for page := 0; page*2000 < n; page++ {
		var vulns []any
		for i := page * 2000; i < n && i < (page+1)*2000; i++ {
			vulns = append(vulns, map[string]any{"cve": map[string]any{
				"id": cveID(i), "published": "2024-10-12T19:15:11.747", "lastModified": "2025-10-18T18:00:24.900",
				"descriptions": []any{map[string]any{"lang": "en", "value": "A synthetic vulnerability description of about the length NVD's descriptions have, to weigh the DB as the real feed would."}},
				"metrics": map[string]any{"cvssMetricV31": []any{map[string]any{"type": "Primary", "cvssData": map[string]any{
					"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}}}},
				"references": []any{map[string]any{"url": fmt.Sprintf("https://example.org/advisory/%d", i)}},
			}})
		}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("nvd-1764900000-%08d.json", page)), map[string]any{
			"resultsPerPage": len(vulns), "startIndex": page * 2000, "totalResults": n, "format": "NVD_CVE", "version": "2.0", "vulnerabilities": vulns}); err != nil {
			return err
		}
	}
	return nil
}
