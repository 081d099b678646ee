package dockerbench

// 1.2.1 Ensure the container host has been Hardened (Manual, Level 1).
// Rationale: a container is only as safe as the kernel and OS it shares.
// Audit: manual; we show the host OS and kernel so the reviewer knows which
// OS hardening benchmark applies.
func init() {
	register(Control{ID: "1.2.1", Title: "Ensure the container host has been Hardened", Section: "Host Configuration", Level: 1, Automated: false,
		Remediation: "Harden the host OS against its own benchmark (e.g. the CIS benchmark for the distribution), keep it minimal and patched, and consider a container-optimised OS.",
		Check:       checkHostHardened})
}

func checkHostHardened(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Info, Evidence: []string{"host OS unknown (engine info not collected); review the host against its OS hardening benchmark"}}
	}
	osName, kernel := s.Info.OperatingSystem, s.Info.KernelVersion
	if osName == "" {
		osName = "unknown OS"
	}
	if kernel == "" {
		kernel = "unknown"
	}
	return Result{Status: Info, Evidence: []string{"host: " + osName + ", kernel " + kernel + "; review it against its OS hardening benchmark"}}
}
