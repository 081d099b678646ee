package dockerbench

import (
	"fmt"
	"regexp"
)

// 4.11 Ensure only verified packages are installed (Manual, Level 2).
// Packages installed without signature or TLS checks can be swapped in
// transit. Audit: history entries that turn verification off or pipe a
// download into a shell.
func init() {
	register(Control{ID: "4.11", Title: "Ensure only verified packages are installed", Section: "Container Images and Build File", Level: 2, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Install packages only from signed repositories with signature checks on (no --allow-unauthenticated, --nogpgcheck, --allow-untrusted), and verify checksums or signatures of anything downloaded.",
		Check:       checkVerifiedPackages})
}

var unverifiedInstallRE = regexp.MustCompile(`--allow-unauthenticated|--allow-insecure-repositories|--nogpgcheck|--no-gpg-checks|--allow-untrusted|gpgcheck\s*=\s*0|--no-check-certificate|--trusted-host|\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b`)

func checkVerifiedPackages(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		for _, h := range img.History {
			if m := unverifiedInstallRE.FindString(h.CreatedBy); m != "" {
				ev = append(ev, fmt.Sprintf("%s: history %q skips verification (%s)", imageLabelForBench(img), truncateForBench(h.CreatedBy, 160), truncateForBench(m, 80)))
			}
		}
	}
	if len(ev) == 0 {
		ev = []string{fmt.Sprintf("no unverified installs seen in the history of %d images; review how packages are fetched", len(s.Images))}
	}
	return Result{Status: Info, Evidence: ev}
}
