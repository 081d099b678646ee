package api

import (
	"strings"
	"testing"
)

func TestSkew(t *testing.T) {
	tests := []struct {
		server, agent string
		refused       bool
		warn          string
	}{
		{"v1.4.2", "v1.4.0", false, ""},
		{"v1.4.2", "1.4.9", false, ""},
		{"v1.4.2", "v1.3.7", false, "one minor version behind"},
		{"v1.4.2", "v1.2.0", true, ""},
		{"v1.4.2", "v0.4.2", true, ""},
		{"v1.4.2", "v2.0.0", true, ""},
		{"v1.4.2", "v1.5.0", false, "newer than the server"},
		{"v1.0.0", "v1.0.0-rc.1", false, ""},
		{"dev", "v0.1.0", false, ""},
		{"v1.4.2", "dev", false, ""},
		{"v1.4.2", "", false, ""},
	}
	for _, tc := range tests {
		warn, err := skew(tc.server, tc.agent)
		if (err != nil) != tc.refused || !strings.Contains(warn, tc.warn) || (tc.warn == "" && warn != "") {
			t.Errorf("skew(%q, %q) = %q, %v; want refused=%v warning %q", tc.server, tc.agent, warn, err, tc.refused, tc.warn)
		}
	}
}

// FuzzSkew: any pair of version strings is judged without panicking, a
// version never refuses itself, and a refusal says what to do.
func FuzzSkew(f *testing.F) {
	for _, s := range []string{"v1.4.2", "1.3", "dev", "", "v9999999999999999999.1", "v1.-1.0", "1..2"} {
		f.Add(s, "v1.4.0")
	}
	f.Fuzz(func(t *testing.T, server, agent string) {
		if _, err := skew(server, server); err != nil {
			t.Errorf("%q refused by itself: %v", server, err)
		}
		if _, err := skew(server, agent); err != nil && !strings.Contains(err.Error(), "upgrade") {
			t.Errorf("refusal without advice: %v", err)
		}
	})
}
