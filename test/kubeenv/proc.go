package kubeenv

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// lookBinary finds a binary from env (when set) or def (a path or a name
// on PATH), or skips the test.
func lookBinary(t testing.TB, env, def, hint string) string {
	t.Helper()
	want := def
	if v := os.Getenv(env); v != "" {
		want = v
	}
	p, err := exec.LookPath(want)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			Skipf(t, "%s not found (set %s): %s", want, env, hint)
		}
		Skipf(t, "%s unusable: %v (%s)", want, err, hint)
	}
	return p
}
