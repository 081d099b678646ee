package k8sbench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Flag checks are data: each names a component and a condition over its
// flags (argCond). The condition gets the effective value — the flag as
// given, else the component's default — so "unset" is judged as the
// component really runs.

// argCond judges one component's flags; it returns whether the control is
// met and the evidence (each flag with its value or default).
type argCond func(p *Proc) (bool, []string)

// flagCheck wraps a condition: a component missing from the node makes the
// control not applicable, as kube-bench skips a target it does not find.
func flagCheck(c Component, cond argCond) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		p := s.componentProc(c)
		if p == nil {
			return absent(s, c)
		}
		ok, ev := cond(p)
		if ok {
			return healthy(ev...)
		}
		return unhealthy(ev...)
	}
}

// absent is the result for a component not found on the node: not
// applicable, unless /proc could not be read, when nobody knows.
func absent(s *Snapshot, c Component) Result {
	if s.Node != nil && s.Node.ProcError != "" {
		return notAssessed(fmt.Sprintf("%s: no static pod manifest, and the processes could not be read (%s)", c, s.Node.ProcError))
	}
	if c == Kubelet || c == Proxy {
		return notApplicable(fmt.Sprintf("no %s process on this node", c))
	}
	return notApplicable(string(c) + " is not running on this node and has no static pod manifest here")
}

// componentProc finds a component for node checks; the API server's mirror
// pod also serves when the node view has none.
func (s *Snapshot) componentProc(c Component) *Proc {
	if c == APIServer {
		return s.apiserver()
	}
	if s.Node == nil {
		return nil
	}
	return s.Node.Procs[c]
}

// value returns a flag's effective value and how to show it.
func value(p *Proc, flag, def string) (v string, set bool, shown string) {
	if v, ok := p.Flags.Get(flag); ok {
		return v, true, fmt.Sprintf("%s: %s", p.Who(), p.Flags.Shown(flag))
	}
	if def != "" {
		return def, true, fmt.Sprintf("%s: --%s not set (default %s)", p.Who(), flag, def)
	}
	return "", false, fmt.Sprintf("%s: --%s not set", p.Who(), flag)
}

// argEq: the flag's effective value must equal want.
func argEq(flag, want, def string) argCond {
	return func(p *Proc) (bool, []string) {
		v, _, ev := value(p, flag, def)
		return strings.EqualFold(v, want), []string{ev}
	}
}

// argNot: the flag's effective value must not be bad.
func argNot(flag, bad, def string) argCond {
	return func(p *Proc) (bool, []string) {
		v, _, ev := value(p, flag, def)
		return !strings.EqualFold(v, bad), []string{ev}
	}
}

// argSet: every flag must be set to something.
func argSet(flags ...string) argCond {
	return func(p *Proc) (bool, []string) {
		ok := true
		var ev []string
		for _, f := range flags {
			v, set, e := value(p, f, "")
			ok = ok && set && v != ""
			ev = append(ev, e)
		}
		return ok, ev
	}
}

// argUnset: the flag must not be given.
func argUnset(flag string) argCond {
	return func(p *Proc) (bool, []string) {
		_, set, ev := value(p, flag, "")
		return !set, []string{ev}
	}
}

// list returns a list flag's items over every occurrence (pflag appends),
// else the default's.
func list(p *Proc, flag, def string) ([]string, string) {
	_, _, ev := value(p, flag, def)
	if items, ok := p.Flags.List(flag); ok {
		return items, ev
	}
	return splitList(def), ev
}

// argHas: the list flag must (or must not) contain item.
func argHas(flag, item, def string, want bool) argCond {
	return func(p *Proc) (bool, []string) {
		items, ev := list(p, flag, def)
		return slices.Contains(items, item) == want, []string{ev}
	}
}

// pluginEnabled: an admission plugin that is on by default counts as
// enabled unless --disable-admission-plugins names it.
func pluginEnabled(plugin string) argCond {
	return func(p *Proc) (bool, []string) {
		dis, ev := list(p, "disable-admission-plugins", "")
		if slices.Contains(dis, plugin) {
			return false, []string{ev}
		}
		en, ev2 := list(p, "enable-admission-plugins", "")
		if slices.Contains(en, plugin) {
			return true, []string{ev2}
		}
		return true, []string{ev, plugin + " is enabled by default"}
	}
}

// argAtLeast: the flag must be set to an integer >= n.
func argAtLeast(flag string, n int) argCond {
	return func(p *Proc) (bool, []string) {
		v, set, ev := value(p, flag, "")
		i, err := strconv.Atoi(v)
		return set && err == nil && i >= n, []string{ev}
	}
}

// argDuration: the flag, a Go duration, must satisfy ok.
func argDuration(flag, def string, ok func(time.Duration) bool) argCond {
	return func(p *Proc) (bool, []string) {
		v, _, ev := value(p, flag, def)
		d, err := time.ParseDuration(v)
		return err == nil && ok(d), []string{ev}
	}
}

// argGate: a feature gate must not be turned off (defaultOn gates).
func argGate(gate string) argCond {
	return func(p *Proc) (bool, []string) {
		items, ev := list(p, "feature-gates", "")
		if on, found := featureGate(items, gate); found {
			return on, []string{ev}
		}
		return true, []string{fmt.Sprintf("%s: feature gate %s not set (on by default)", p.Who(), gate)}
	}
}

// all joins conditions.
func all(conds ...argCond) argCond {
	return func(p *Proc) (bool, []string) {
		ok := true
		var ev []string
		for _, c := range conds {
			o, e := c(p)
			ok = ok && o
			ev = append(ev, e...)
		}
		return ok, ev
	}
}

// strongCiphers are the suites CIS 1.2.29 and 4.2.12 accept (kube-bench's
// valid_elements, which are Go's secure TLS 1.2 and 1.3 suites).
var strongCiphers = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": true, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": true,
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": true, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": true,
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": true, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": true,
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": true, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": true,
}

// weakCiphers returns the suites outside strongCiphers.
func weakCiphers(suites []string) []string {
	var weak []string
	for _, c := range suites {
		if !strongCiphers[c] {
			weak = append(weak, c)
		}
	}
	return weak
}

// argCiphers: --tls-cipher-suites, when given, names strong suites only.
// Unset, the component uses Go's default list, which since Go 1.22 holds
// no RSA key exchange and no CBC-SHA256 suite.
func argCiphers() argCond {
	return func(p *Proc) (bool, []string) {
		suites, ev := list(p, "tls-cipher-suites", "")
		if _, set := p.Flags.Get("tls-cipher-suites"); !set {
			return true, []string{ev + " (Go's default suites: ECDHE with AEAD ciphers)"}
		}
		if weak := weakCiphers(suites); len(weak) > 0 {
			return false, []string{ev, "weak: " + strings.Join(weak, ", ")}
		}
		return true, []string{ev}
	}
}

// evidenceCheck is a manual control that shows the flags a person needs.
func evidenceCheck(c Component, flags ...string) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		p := s.componentProc(c)
		if p == nil {
			return absent(s, c)
		}
		var ev []string
		for _, f := range flags {
			_, _, e := value(p, f, "")
			ev = append(ev, e)
		}
		return manual(ev...)
	}
}
