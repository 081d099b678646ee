package auditd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// RulesKey tags the audit rules Rules writes, so they can be listed and
// removed together (auditctl -D -k bulwark).
const RulesKey = "bulwark"

// watchPaths are the files the built-in file rules look at: credentials,
// keys, shell history, kubeconfigs and logs. Only writes are watched where
// reads are ordinary (logs, history).
var watchPaths = []struct{ path, perm string }{
	{"/etc/shadow", "rwa"}, {"/etc/gshadow", "rwa"}, {"/etc/passwd", "wa"}, {"/etc/group", "wa"}, {"/etc/sudoers", "wa"},
	{"/root/.ssh", "rwa"}, {"/root/.bash_history", "wa"}, {"/root/.kube", "rwa"},
	{"/etc/kubernetes", "rwa"}, {"/var/lib/kubelet/kubeconfig", "rwa"},
	{"/etc/cron.d", "wa"}, {"/etc/systemd/system", "wa"},
}

// Rules writes the audit rules (auditctl syntax, for /etc/audit/rules.d/
// or `auditctl -R`) that give the tailer the event kinds asked for: execve
// for process.exec, connect for net.connect, unshare and clone with a
// CLONE_NEW* flag for process.namespace, watches for file. Both 64-bit
// ABIs the tailer decodes (x86-64 and arm64) are covered by arch=b64, and
// 32-bit execve by arch=b32, so a 32-bit binary cannot slip by.
func Rules(kinds []event.Kind) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Bulwark run-time detection (bulwark runtime auditd-rules): load with\n")
	fmt.Fprintf(&b, "##   cp this file /etc/audit/rules.d/bulwark.rules && augenrules --load\n")
	fmt.Fprintf(&b, "## and watch with `bulwark runtime watch --auditd /var/log/audit/audit.log`.\n")
	// Watched paths that a host lacks (no kubelet on a plain Docker host)
	// must not stop the rest from loading.
	b.WriteString("-i\n")
	rule := func(arch, syscalls, extra string) {
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S %s%s -k %s\n", arch, syscalls, extra, RulesKey)
	}
	if slices.Contains(kinds, event.KindProcessExec) {
		b.WriteString("# process.exec: every program run, with its arguments (EXECVE records)\n")
		rule("b64", "execve,execveat", "")
		rule("b32", "execve", "")
	}
	if slices.Contains(kinds, event.KindNetConnect) {
		// Unix sockets are the bulk of connects and never interesting here:
		// a0 is the socket, so the family is not filterable in-kernel;
		// successful and in-progress connects only keep the volume down.
		b.WriteString("# net.connect: outbound connections (the tailer drops unix and netlink sockets)\n")
		rule("b64", "connect", " -F success=1")
		rule("b64", "connect", " -F exit=-115")
	}
	if slices.Contains(kinds, event.KindNamespace) {
		b.WriteString("# process.namespace: new namespaces (CLONE_NEW* flags in the first argument)\n")
		rule("b64", "unshare", "")
		rule("b64", "clone", " -F a0&0x7e020000")
	}
	if slices.Contains(kinds, event.KindFile) {
		b.WriteString("# file: the credentials, keys, kubeconfigs and logs the file rules look at\n")
		for _, w := range watchPaths {
			fmt.Fprintf(&b, "-w %s -p %s -k %s\n", w.path, w.perm, RulesKey)
		}
	}
	return b.String()
}
