package tlsconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientRefusesBadCAFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600) //nolint:errcheck
	for path, want := range map[string]string{filepath.Join(dir, "missing.pem"): "read CA file", notPEM: "holds no PEM certificate"} {
		if _, err := Client(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Client(%s): %v, want %q", path, err, want)
		}
	}
}
