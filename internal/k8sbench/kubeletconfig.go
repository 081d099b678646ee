package k8sbench

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// KubeletConfig is a parsed KubeletConfiguration file (YAML or JSON), kept
// as a tree: only the fields in kubeletSettings are read, and an unknown or
// newer field must not make the file unreadable.
type KubeletConfig map[string]any

// ParseKubeletConfig parses a kubelet config file.
func ParseKubeletConfig(b []byte) (KubeletConfig, error) {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse kubelet config: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return KubeletConfig(m), nil
}

// lookup returns the value at a dotted path ("authentication.anonymous.enabled")
// rendered as the kubelet's flag would spell it.
func (c KubeletConfig) lookup(path string) (string, bool) {
	var cur any = map[string]any(c)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	return scalarString(cur)
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := scalarString(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	case map[string]any:
		// featureGates: render as the flag does, sorted for stable evidence.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			s, _ := scalarString(x[k])
			parts = append(parts, k+"="+s)
		}
		return strings.Join(parts, ","), true
	}
	return fmt.Sprint(v), true
}

// kubeletSetting names one setting both as a flag and as a config field,
// with the default the kubelet applies in each case: the flag defaults
// apply without --config, KubeletConfiguration v1beta1's with it (they
// differ for anonymous auth, authorization mode and the read-only port).
type kubeletSetting struct {
	Flag          string
	Field         string // dotted path in the config file; "" for flag-only settings
	FlagDefault   string // "" when there is none
	ConfigDefault string
}

// kubeletSettings are the settings section 4.2 reads.
var kubeletSettings = []kubeletSetting{
	{Flag: "anonymous-auth", Field: "authentication.anonymous.enabled", FlagDefault: "true", ConfigDefault: "false"},
	{Flag: "authorization-mode", Field: "authorization.mode", FlagDefault: "AlwaysAllow", ConfigDefault: "Webhook"},
	{Flag: "client-ca-file", Field: "authentication.x509.clientCAFile"},
	{Flag: "read-only-port", Field: "readOnlyPort", FlagDefault: "10255", ConfigDefault: "0"},
	{Flag: "streaming-connection-idle-timeout", Field: "streamingConnectionIdleTimeout", FlagDefault: "4h0m0s", ConfigDefault: "4h0m0s"},
	{Flag: "make-iptables-util-chains", Field: "makeIPTablesUtilChains", FlagDefault: "true", ConfigDefault: "true"},
	{Flag: "hostname-override"},
	{Flag: "event-qps", Field: "eventRecordQPS", FlagDefault: "50", ConfigDefault: "50"},
	{Flag: "tls-cert-file", Field: "tlsCertFile"},
	{Flag: "tls-private-key-file", Field: "tlsPrivateKeyFile"},
	{Flag: "rotate-certificates", Field: "rotateCertificates", FlagDefault: "false", ConfigDefault: "false"},
	{Flag: "rotate-server-certificates", Field: "serverTLSBootstrap", FlagDefault: "false", ConfigDefault: "false"},
	{Flag: "feature-gates", Field: "featureGates"},
	{Flag: "tls-cipher-suites", Field: "tlsCipherSuites"},
	{Flag: "pod-max-pids", Field: "podPidsLimit", FlagDefault: "-1", ConfigDefault: "-1"},
	{Flag: "seccomp-default", Field: "seccompDefault", FlagDefault: "false", ConfigDefault: "false"},
	{Flag: "kubeconfig"},
	{Flag: "config"},
}

// Setting is one effective kubelet setting and where its value came from.
type Setting struct {
	Value  string
	Set    bool   // false: no flag, no config field and no default
	Origin string // "flag --x", "config <path> field f", "default"
}

// String renders the setting for evidence.
func (s Setting) String() string {
	if !s.Set {
		return "not set (" + s.Origin + ")"
	}
	return s.Value + " (" + s.Origin + ")"
}

// effectiveKubelet applies the kubelet's precedence: a flag on the command
// line, else the config file's field, else the default of the mode in use.
func effectiveKubelet(flags Flags, cfg KubeletConfig, cfgPath string) map[string]Setting {
	out := make(map[string]Setting, len(kubeletSettings))
	for _, ks := range kubeletSettings {
		if v, ok := flags.Get(ks.Flag); ok {
			if ks.Flag == "feature-gates" || ks.Flag == "tls-cipher-suites" {
				// List and map flags accumulate over occurrences.
				items, _ := flags.List(ks.Flag)
				v = strings.Join(items, ",")
			}
			out[ks.Flag] = Setting{Value: v, Set: true, Origin: "flag --" + ks.Flag}
			continue
		}
		if cfg != nil && ks.Field != "" {
			if v, ok := cfg.lookup(ks.Field); ok {
				out[ks.Flag] = Setting{Value: v, Set: true, Origin: "config " + cfgPath + " field " + ks.Field}
				continue
			}
		}
		def := ks.FlagDefault
		origin := "kubelet default without a config file"
		if cfg != nil {
			def, origin = ks.ConfigDefault, "KubeletConfiguration default"
		}
		out[ks.Flag] = Setting{Value: def, Set: def != "", Origin: origin}
	}
	return out
}
