package text

import (
	"bytes"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"esc\x1b]0;pwned\x07test", `esc\x1b]0;pwned\x07test`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"del\x7f", `del\x7f`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"ünïcödé ✓", "ünïcödé ✓"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTerminalWriter(t *testing.T) {
	tests := []struct {
		name   string
		colors bool
		in     string
		want   string
	}{
		{"title change", false, "image esc\x1b]0;pwned\x07test\n", "image esc\\x1b]0;pwned\\x07test\n"},
		{"own colours kept", true, "\x1b[1mImage:\x1b[0m x \x1b[91mCRITICAL\x1b[0m\n", "\x1b[1mImage:\x1b[0m x \x1b[91mCRITICAL\x1b[0m\n"},
		{"other SGR escaped", true, "hide \x1b[8mme\x1b[0m", "hide \\x1b[8mme\x1b[0m"},
		{"colours off", false, "\x1b[1mx\x1b[0m", "\\x1b[1mx\\x1b[0m"},
		{"tabs and newlines", false, "a\tb\nc", "a\tb\nc"},
		{"C1 CSI", false, "x\u009b2Jy", "x\\u009b2Jy"},
		{"UTF-8", true, "ünïcödé ✓ 😀", "ünïcödé ✓ 😀"},
		{"carriage return", false, "ok\rFAKE", "ok\\rFAKE"},
		{"raw 8-bit CSI", false, "a\x9b2Jb\xffc", "a\\x9b2Jb\\xffc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, and one byte per Write: sequences split across writes
			// are judged whole.
			for _, split := range []bool{false, true} {
				var b bytes.Buffer
				w := NewTerminalWriter(&b, tc.colors)
				if split {
					for i := range len(tc.in) {
						if _, err := w.Write([]byte{tc.in[i]}); err != nil {
							t.Fatal(err)
						}
					}
				} else if _, err := w.Write([]byte(tc.in)); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				if b.String() != tc.want {
					t.Errorf("split=%v: %q, want %q", split, b.String(), tc.want)
				}
			}
		})
	}
}
