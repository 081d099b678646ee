package k8sbench

import (
	"bytes"
	"strings"
)

// Flags are a component's command-line flags as pflag reads them: the last
// occurrence of a flag wins, "--x=v" and "--x v" both set x to v, and a bare
// "--x" followed by another flag (or nothing) is a boolean true.
type Flags map[string]string

// Get returns the value of flag name (with or without its dashes).
func (f Flags) Get(name string) (string, bool) {
	v, ok := f[strings.TrimLeft(name, "-")]
	return v, ok
}

// ParseCmdline splits a /proc/<pid>/cmdline (NUL-separated, usually with a
// trailing NUL) into argv.
func ParseCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// ParseFlags reads flags from args (argv without the program name, or a
// container's command and args). Positional arguments are ignored. A
// value-less flag followed by a word that is not a flag takes that word as
// its value, as kube-bench reads it: Kubernetes components write boolean
// flags as --x=false, so "--x false" only occurs for string flags.
func ParseFlags(args []string) Flags {
	f := Flags{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if name == "" {
			continue
		}
		if k, v, ok := strings.Cut(name, "="); ok {
			f[k] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			f[name] = args[i+1]
			i++
			continue
		}
		f[name] = "true"
	}
	return f
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// featureGate reads one gate from a --feature-gates value ("A=true,B=false").
func featureGate(v, gate string) (bool, bool) {
	for _, p := range splitList(v) {
		k, val, _ := strings.Cut(p, "=")
		if strings.TrimSpace(k) == gate {
			return strings.EqualFold(strings.TrimSpace(val), "true"), true
		}
	}
	return false, false
}
