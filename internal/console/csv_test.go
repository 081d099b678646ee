package console

import "testing"

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "web": "web", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "a=b": "a=b"} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{"/alerts?x=1": "/alerts?x=1", "": "/", "//evil.example/": "/", `/\evil.example`: "/", "https://evil.example/": "/", "/a\r\nSet-Cookie: x": "/"} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}
