package watch

import "testing"

func TestCheckpointPath(t *testing.T) {
	tests := []struct{ dir, kind, path, want string }{
		{"/var/lib/b", "k8s-audit", "/var/log/kube-audit.log", "/var/lib/b/k8s-audit-var_log_kube-audit.log.checkpoint"},
		{"/var/lib/b", "auditd", "/var/log/audit/audit.log", "/var/lib/b/auditd-var_log_audit_audit.log.checkpoint"},
		{"", "auditd", "/var/log/audit/audit.log", ""}, // no directory: position kept in memory only
	}
	for _, tc := range tests {
		if got := CheckpointPath(tc.dir, tc.kind, tc.path); got != tc.want {
			t.Errorf("CheckpointPath(%q, %q, %q) = %q, want %q", tc.dir, tc.kind, tc.path, got, tc.want)
		}
	}
}
