package k8sbench

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// File checks are data too: a file role (where the layout or the
// component's flag puts the file), and the mode bits or owner it may have.

// permCheck: every file of the role has no permission bit outside max (so
// 0600 "or more restrictive" accepts 0400 and 0600, refuses 0640); suffix
// narrows to names ending in it (".crt", ".key").
func permCheck(role FileRole, max fs.FileMode, suffix string) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		stats, r, ok := roleFiles(s, role)
		if !ok {
			return r
		}
		var bad, good []string
		for _, st := range stats {
			if suffix != "" && !strings.HasSuffix(st.Path, suffix) {
				continue
			}
			if st.Mode.IsDir() && (role == FileCNI || role == FilePKI) {
				continue // the files inside are judged, as kube-bench's find does
			}
			perm := st.Mode.Perm()
			line := fmt.Sprintf("%s: mode %04o", st.Path, perm)
			if perm&^max != 0 {
				bad = append(bad, line+fmt.Sprintf(" (more permissive than %04o)", max))
			} else {
				good = append(good, line)
			}
		}
		switch {
		case len(bad) > 0:
			return unhealthy(bad...)
		case len(good) == 0:
			return notApplicable(fmt.Sprintf("no %s files (*%s) found", role, suffix))
		}
		return healthy(good...)
	}
}

// ownerCheck: every file of the role is owned by user:group (by name, as
// the host's passwd and group files say; root is uid 0 regardless).
func ownerCheck(role FileRole, user, group string) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		stats, r, ok := roleFiles(s, role)
		if !ok {
			return r
		}
		var bad, good []string
		for _, st := range stats {
			line := fmt.Sprintf("%s: owner %s:%s", st.Path, st.Owner, st.Group)
			if idIs(st.Owner, st.UID, user) && idIs(st.Group, st.GID, group) {
				good = append(good, line)
			} else {
				bad = append(bad, line+" (want "+user+":"+group+")")
			}
		}
		if len(bad) > 0 {
			return unhealthy(bad...)
		}
		return healthy(good...)
	}
}

func idIs(name string, id int, want string) bool {
	if want == "root" && id == 0 {
		return true
	}
	return name == want
}

// roleFiles returns a role's files, or the result to give when there are
// none: not applicable, naming where they were looked for.
func roleFiles(s *Snapshot, role FileRole) ([]FileStat, Result, bool) {
	if s.Node == nil {
		return nil, notAssessed("node checks were not run (--node)"), false
	}
	f := s.Node.Files[role]
	if role == FileEtcdDataDir && s.Node.Procs[Etcd] == nil {
		// A data directory without etcd running is an old or packaged one,
		// not this cluster's.
		return nil, absent(s, Etcd), false
	}
	if len(f.Stats) == 0 {
		if len(f.Looked) == 0 {
			return nil, notApplicable(fmt.Sprintf("the %s layout has no %s file", s.Node.Layout, role)), false
		}
		return nil, notApplicable("not found: " + strings.Join(f.Looked, ", ")), false
	}
	return f.Stats, Result{}, true
}

// kubeletCond judges the kubelet's effective settings.
type kubeletCond func(k map[string]Setting) (bool, []string)

// kubeletCheck: not applicable without a kubelet on the node; manualOnly
// turns a verdict into evidence for a person.
func kubeletCheck(cond kubeletCond) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		if s.Node == nil || s.Node.Kubelet == nil {
			return absent(s, Kubelet)
		}
		ok, ev := cond(s.Node.Kubelet)
		if ok {
			return healthy(ev...)
		}
		return unhealthy(ev...)
	}
}

func kev(k map[string]Setting, flag string) string {
	return "kubelet " + flag + ": " + k[flag].String()
}

func kubeletEq(flag, want string) kubeletCond {
	return func(k map[string]Setting) (bool, []string) {
		return k[flag].Set && strings.EqualFold(k[flag].Value, want), []string{kev(k, flag)}
	}
}

func kubeletNot(flag, bad string) kubeletCond {
	return func(k map[string]Setting) (bool, []string) {
		return !strings.EqualFold(k[flag].Value, bad), []string{kev(k, flag)}
	}
}

func kubeletSet(flags ...string) kubeletCond {
	return func(k map[string]Setting) (bool, []string) {
		ok := true
		var ev []string
		for _, f := range flags {
			ok = ok && k[f].Set && k[f].Value != ""
			ev = append(ev, kev(k, f))
		}
		return ok, ev
	}
}

func kubeletUnset(flag string) kubeletCond {
	return func(k map[string]Setting) (bool, []string) {
		return !k[flag].Set || k[flag].Value == "", []string{kev(k, flag)}
	}
}

// kubeletAuthz: the authorization mode, AlwaysAllow being the flag
// default, must be something else (Webhook).
func kubeletAuthz(k map[string]Setting) (bool, []string) {
	return !strings.EqualFold(k["authorization-mode"].Value, "AlwaysAllow"), []string{kev(k, "authorization-mode")}
}

func kubeletIdleTimeout(k map[string]Setting) (bool, []string) {
	d, err := time.ParseDuration(k["streaming-connection-idle-timeout"].Value)
	return err == nil && d != 0, []string{kev(k, "streaming-connection-idle-timeout")}
}

func kubeletServerCertRotation(k map[string]Setting) (bool, []string) {
	on, found := featureGate(splitList(k["feature-gates"].Value), "RotateKubeletServerCertificate")
	ev := []string{kev(k, "feature-gates"), kev(k, "rotate-server-certificates")}
	if found && !on {
		return false, ev
	}
	return strings.EqualFold(k["rotate-server-certificates"].Value, "true"), ev
}

func kubeletCiphers(k map[string]Setting) (bool, []string) {
	s := k["tls-cipher-suites"]
	if !s.Set || s.Value == "" {
		return true, []string{kev(k, "tls-cipher-suites") + " (Go's default suites: ECDHE with AEAD ciphers)"}
	}
	if weak := weakCiphers(splitList(s.Value)); len(weak) > 0 {
		return false, []string{kev(k, "tls-cipher-suites"), "weak: " + strings.Join(weak, ", ")}
	}
	return true, []string{kev(k, "tls-cipher-suites")}
}

func kubeletPidsLimit(k map[string]Setting) (bool, []string) {
	n, err := strconv.Atoi(k["pod-max-pids"].Value)
	return err == nil && n > 0, []string{kev(k, "pod-max-pids")}
}

// proxyMetricsLocal: kube-proxy's metrics address (flag, else its config
// file's metricsBindAddress, else the default 127.0.0.1:10249) binds to
// loopback.
func proxyMetricsLocal(s *Snapshot) Result {
	if s.Node == nil || s.Node.Procs[Proxy] == nil {
		return absent(s, Proxy)
	}
	p := s.Node.Procs[Proxy]
	v, ev := "127.0.0.1:10249", p.Who()+": --metrics-bind-address not set (default 127.0.0.1:10249)"
	if f, ok := p.Flags.Get("metrics-bind-address"); ok {
		v, ev = f, p.Who()+": --metrics-bind-address="+f
	} else if s.Node.ProxyConfig != nil {
		if c, ok := s.Node.ProxyConfig.lookup("metricsBindAddress"); ok && c != "" {
			v, ev = c, p.Who()+": config metricsBindAddress="+c
		}
	}
	host := v
	if i := strings.LastIndex(v, ":"); i >= 0 {
		host = strings.Trim(v[:i], "[]")
	}
	if host == "127.0.0.1" || host == "::1" || host == "localhost" {
		return healthy(ev)
	}
	return unhealthy(ev)
}

// etcdUniqueCA (2.7, manual in CIS): etcd's client CA must not be a CA
// the cluster's other clients are issued from: the API server's
// --client-ca-file or the kubelet's client CA.
func etcdUniqueCA(s *Snapshot) Result {
	e := s.componentProc(Etcd)
	if e == nil {
		return absent(s, Etcd)
	}
	ca, set, ev := value(e, "trusted-ca-file", "")
	if !set {
		return manual(ev, "etcd's CA is not on its command line (a config file?): compare it with the cluster CA by hand")
	}
	clusterCAs := map[string]string{}
	if a := s.apiserver(); a != nil {
		if v, ok := a.Flags.Get("client-ca-file"); ok {
			clusterCAs[v] = a.Who() + " --client-ca-file"
		}
	}
	if s.Node != nil {
		if f := s.Node.Files[FileClientCA]; len(f.Stats) > 0 {
			clusterCAs[f.Stats[0].Path] = "the kubelet's client CA"
		}
	}
	if who, same := clusterCAs[ca]; same {
		return unhealthy(ev, "etcd trusts "+ca+", which is also "+who)
	}
	return healthy(ev)
}

// auditPolicyCreated (3.2.1): the API server has an audit policy file, and
// it could be read.
func auditPolicyCreated(s *Snapshot) Result {
	p := s.apiserver()
	if p == nil {
		return absent(s, APIServer)
	}
	v, set, ev := value(p, "audit-policy-file", "")
	if !set || v == "" {
		return unhealthy(ev)
	}
	if s.Node != nil && s.Node.AuditPolicy == nil {
		return unhealthy(ev, "the policy file could not be read on this node")
	}
	return healthy(ev)
}

// auditPolicyCovers (3.2.2, manual): shows which of the key concerns the
// policy mentions; a person judges whether the levels suit them.
func auditPolicyCovers(s *Snapshot) Result {
	if s.Node == nil || s.Node.AuditPolicy == nil {
		return manual("no audit policy read on this node")
	}
	pol := string(s.Node.AuditPolicy)
	var ev []string
	for _, r := range []string{"secrets", "configmaps", "tokenreviews", "pods/exec", "pods/portforward", "pods/proxy", "services/proxy"} {
		if strings.Contains(pol, r) {
			ev = append(ev, "policy mentions "+r)
		} else {
			ev = append(ev, "policy does not mention "+r)
		}
	}
	return manual(ev...)
}

// encryptionProviders (1.2.28, manual): the providers listed in the
// encryption config, first one first (the one that writes).
func encryptionProviders(s *Snapshot) Result {
	p := s.apiserver()
	if p == nil {
		return absent(s, APIServer)
	}
	_, set, ev := value(p, "encryption-provider-config", "")
	if !set {
		return unhealthy(ev)
	}
	if s.Node == nil || s.Node.EncryptionConfig == nil {
		return manual(ev, "the file could not be read on this node")
	}
	cfg := string(s.Node.EncryptionConfig)
	var found []string
	for _, prov := range []string{"kms", "aescbc", "aesgcm", "secretbox", "identity"} {
		if strings.Contains(cfg, prov+":") {
			found = append(found, prov)
		}
	}
	return manual(ev, "providers named: "+strings.Join(found, ", "))
}
