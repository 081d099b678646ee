package kubeenv

import (
	"os"
	"testing"
)

// Skipf skips the test, or fails it when BULWARK_REQUIRE_INTEGRATION is set
// (CI), so a missing kube-apiserver or etcd can never pass silently there.
// It mirrors internal/testenv.Skipf, which this module cannot import.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("BULWARK_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("integration prerequisite missing (BULWARK_REQUIRE_INTEGRATION is set): "+format, args...)
	}
	t.Skipf(format, args...)
}
