package k8sbench

import (
	"bytes"
	"strings"
)

// Flags are a component's command-line flags as pflag reads them, every
// occurrence kept in order: "--x=v" and "--x v" both give x the value v,
// and a bare "--x" followed by another flag (or nothing) is a boolean
// true. For a scalar flag the last occurrence wins (Get); a list flag
// (--enable-admission-plugins, --authorization-mode, --tls-cipher-suites,
// --feature-gates) appends each occurrence to the first (List), as pflag's
// slice and map flags do.
type Flags map[string][]string

// Get returns the value of flag name (with or without its dashes): its
// last occurrence.
func (f Flags) Get(name string) (string, bool) {
	vs := f[strings.TrimLeft(name, "-")]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// List returns the comma-separated items of every occurrence of a list
// flag, in order.
func (f Flags) List(name string) ([]string, bool) {
	vs, ok := f[strings.TrimLeft(name, "-")]
	var out []string
	for _, v := range vs {
		out = append(out, splitList(v)...)
	}
	return out, ok
}

// Shown renders every occurrence for evidence ("--a=x --a=y").
func (f Flags) Shown(name string) string {
	name = strings.TrimLeft(name, "-")
	parts := make([]string, len(f[name]))
	for i, v := range f[name] {
		parts[i] = "--" + name + "=" + v
	}
	return strings.Join(parts, " ")
}

func (f Flags) add(name, v string) { f[name] = append(f[name], v) }

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
			if k != "" { // "-=" names no flag (found by FuzzParseFlags)
				f.add(k, v)
			}
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			f.add(name, args[i+1])
			i++
			continue
		}
		f.add(name, "true")
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

// featureGate reads one gate from --feature-gates items ("A=true",
// "B=false"); a later setting of the same gate wins, as in the map flag.
func featureGate(items []string, gate string) (on, found bool) {
	for _, p := range items {
		k, val, _ := strings.Cut(p, "=")
		if strings.TrimSpace(k) == gate {
			on, found = strings.EqualFold(strings.TrimSpace(val), "true"), true
		}
	}
	return on, found
}
