package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// pssCase is one pod and the verdicts of the real PodSecurity admission for
// it: allowed in an enforce=baseline / enforce=restricted namespace.
type pssCase struct {
	name       string
	pod        *corev1.Pod
	baseline   bool
	restricted bool
}

// hardened is a pod the restricted profile allows; minimal one it does not
// (no security context at all) but baseline does. The cases change one
// control at a time from one of them.
func hardened(name string, mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}}},
	}}
	for _, m := range mut {
		m(p)
	}
	return p
}

func minimal(name string, mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}},
	}}
	for _, m := range mut {
		m(p)
	}
	return p
}

// csc returns the first container's security context, created if absent.
func csc(p *corev1.Pod) *corev1.SecurityContext {
	c := &p.Spec.Containers[0]
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

func psc(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

func addCaps(caps ...corev1.Capability) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if csc(p).Capabilities == nil {
			csc(p).Capabilities = &corev1.Capabilities{}
		}
		csc(p).Capabilities.Add = caps
	}
}

func volume(v corev1.VolumeSource) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "v" + itoa(len(p.Spec.Volumes)), VolumeSource: v})
	}
}

func sysctl(name, value string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { psc(p).Sysctls = append(psc(p).Sysctls, corev1.Sysctl{Name: name, Value: value}) }
}

func seLinux(o corev1.SELinuxOptions) func(*corev1.Pod) {
	return func(p *corev1.Pod) { csc(p).SELinuxOptions = &o }
}

func initContainer(mut func(*corev1.Container)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c := *p.Spec.Containers[0].DeepCopy()
		c.Name = "init"
		mut(&c)
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func probe(h corev1.ProbeHandler) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: h} }
}

func pssCases() []pssCase {
	unmasked := corev1.UnmaskedProcMount
	return []pssCase{
		{"hardened", hardened("hardened"), true, true},
		{"minimal", minimal("minimal"), true, false},
		// Host namespaces.
		{"host-network", hardened("host-network", func(p *corev1.Pod) { p.Spec.HostNetwork = true }), false, false},
		{"host-pid", hardened("host-pid", func(p *corev1.Pod) { p.Spec.HostPID = true }), false, false},
		{"host-ipc", hardened("host-ipc", func(p *corev1.Pod) { p.Spec.HostIPC = true }), false, false},
		// Privileged.
		{"privileged", minimal("privileged", func(p *corev1.Pod) { csc(p).Privileged = ptr(true) }), false, false},
		{"privileged-false", hardened("privileged-false", func(p *corev1.Pod) { csc(p).Privileged = ptr(false) }), true, true},
		{"init-privileged", hardened("init-privileged", initContainer(func(c *corev1.Container) {
			c.SecurityContext.Privileged = ptr(true)
			c.SecurityContext.AllowPrivilegeEscalation = nil // validation refuses privileged with it false
		})), false, false},
		// Capabilities.
		{"cap-sys-admin", hardened("cap-sys-admin", addCaps("SYS_ADMIN")), false, false},
		{"cap-net-admin", minimal("cap-net-admin", addCaps("NET_ADMIN")), false, false},
		{"cap-net-bind-service", hardened("cap-net-bind-service", addCaps("NET_BIND_SERVICE")), true, true},
		{"cap-chown", hardened("cap-chown", addCaps("CHOWN")), true, false},
		{"cap-audit-write-minimal", minimal("cap-audit-write-minimal", addCaps("AUDIT_WRITE")), true, false},
		{"cap-no-drop", hardened("cap-no-drop", func(p *corev1.Pod) { csc(p).Capabilities = nil }), true, false},
		{"cap-drop-lowercase-all", hardened("cap-drop-lowercase-all", func(p *corev1.Pod) { csc(p).Capabilities.Drop = []corev1.Capability{"all"} }), true, false},
		{"init-cap-no-drop", hardened("init-cap-no-drop", initContainer(func(c *corev1.Container) { c.SecurityContext.Capabilities = nil })), true, false},
		// hostPath volumes and host ports.
		{"host-path", hardened("host-path", volume(corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run"}})), false, false},
		{"host-port", hardened("host-port", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 8080}}
		}), false, false},
		{"container-port-only", hardened("container-port-only", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
		}), true, true},
		// AppArmor, annotation and fields.
		{"apparmor-annotation-unconfined", hardened("apparmor-annotation-unconfined", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
		}), false, false},
		{"apparmor-annotation-runtime-default", hardened("apparmor-annotation-runtime-default", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
		}), true, true},
		{"apparmor-field-unconfined", hardened("apparmor-field-unconfined", func(p *corev1.Pod) {
			csc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		}), false, false},
		{"apparmor-pod-field-unconfined", hardened("apparmor-pod-field-unconfined", func(p *corev1.Pod) {
			psc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		}), false, false},
		{"apparmor-field-localhost", hardened("apparmor-field-localhost", func(p *corev1.Pod) {
			psc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr("k8s-app")}
		}), true, true},
		// SELinux.
		{"selinux-container-t", hardened("selinux-container-t", seLinux(corev1.SELinuxOptions{Type: "container_t", Level: "s0:c123,c456"})), true, true},
		{"selinux-spc-t", hardened("selinux-spc-t", seLinux(corev1.SELinuxOptions{Type: "spc_t"})), false, false},
		{"selinux-user", hardened("selinux-user", seLinux(corev1.SELinuxOptions{User: "system_u"})), false, false},
		{"selinux-role", hardened("selinux-role", seLinux(corev1.SELinuxOptions{Role: "system_r"})), false, false},
		// /proc mount: baseline allows Unmasked in a user namespace (1.35+), restricted never.
		{"procmount-unmasked-userns", hardened("procmount-unmasked-userns", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr(false)
			csc(p).ProcMount = &unmasked
		}), true, false},
		// (Unmasked without a user namespace fails validation before admission.)
		{"procmount-default", hardened("procmount-default", func(p *corev1.Pod) { csc(p).ProcMount = ptr(corev1.DefaultProcMount) }), true, true},
		// Seccomp.
		{"seccomp-pod-unconfined", hardened("seccomp-pod-unconfined", func(p *corev1.Pod) {
			psc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}), false, false},
		{"seccomp-container-unconfined", hardened("seccomp-container-unconfined", func(p *corev1.Pod) {
			csc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}), false, false},
		{"seccomp-missing", hardened("seccomp-missing", func(p *corev1.Pod) { psc(p).SeccompProfile = nil }), true, false},
		{"seccomp-container-only", hardened("seccomp-container-only", func(p *corev1.Pod) {
			psc(p).SeccompProfile = nil
			csc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		}), true, true},
		{"seccomp-localhost", hardened("seccomp-localhost", func(p *corev1.Pod) {
			psc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("profiles/app.json")}
		}), true, true},
		// Sysctls.
		{"sysctl-safe", hardened("sysctl-safe", sysctl("kernel.shm_rmid_forced", "1"), sysctl("net.ipv4.tcp_keepalive_time", "600")), true, true},
		{"sysctl-unprivileged-port", hardened("sysctl-unprivileged-port", sysctl("net.ipv4.ip_unprivileged_port_start", "80")), true, true},
		{"sysctl-kernel-msgmax", hardened("sysctl-kernel-msgmax", sysctl("kernel.msgmax", "65536")), false, false},
		{"sysctl-somaxconn", hardened("sysctl-somaxconn", sysctl("net.core.somaxconn", "1024")), false, false},
		// Volume types.
		{"volumes-allowed", hardened("volumes-allowed",
			volume(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}),
			volume(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}),
			volume(corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
			volume(corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}),
			volume(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}),
			volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "inline.csi.example"}}),
		), true, true},
		{"volume-nfs", hardened("volume-nfs", volume(corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/export"}})), true, false},
		{"volume-iscsi", hardened("volume-iscsi", volume(corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: "iqn.2001-04.com.example:storage", Lun: 0}})), true, false},
		// Privilege escalation.
		{"ape-missing", hardened("ape-missing", func(p *corev1.Pod) { csc(p).AllowPrivilegeEscalation = nil }), true, false},
		{"ape-true", hardened("ape-true", func(p *corev1.Pod) { csc(p).AllowPrivilegeEscalation = ptr(true) }), true, false},
		// Running as non-root / as uid 0.
		{"run-as-non-root-missing", hardened("run-as-non-root-missing", func(p *corev1.Pod) { psc(p).RunAsNonRoot = nil }), true, false},
		{"run-as-non-root-container-false", hardened("run-as-non-root-container-false", func(p *corev1.Pod) { csc(p).RunAsNonRoot = ptr(false) }), true, false},
		{"run-as-non-root-container-only", hardened("run-as-non-root-container-only", func(p *corev1.Pod) {
			psc(p).RunAsNonRoot = nil
			csc(p).RunAsNonRoot = ptr(true)
		}), true, true},
		{"run-as-user-0", hardened("run-as-user-0", func(p *corev1.Pod) { csc(p).RunAsUser = ptr(int64(0)) }), true, false},
		{"run-as-user-0-pod", hardened("run-as-user-0-pod", func(p *corev1.Pod) { psc(p).RunAsUser = ptr(int64(0)) }), true, false},
		{"run-as-user-1000", hardened("run-as-user-1000", func(p *corev1.Pod) { csc(p).RunAsUser = ptr(int64(1000)) }), true, true},
		// Probe and lifecycle hosts (1.34+).
		{"probe-http-host", hardened("probe-http-host", probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1", Port: intOrStr(8080)}})), false, false},
		{"probe-tcp-no-host", hardened("probe-tcp-no-host", probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrStr(8080)}})), true, true},
		{"lifecycle-http-host", hardened("lifecycle-http-host", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: "metadata.internal", Port: intOrStr(80)}}}
		}), false, false},
		// Edge cases, from the reference's own rules (k8s.io/pod-security-admission/policy).
		{"cap-prefixed-chown", minimal("cap-prefixed-chown", addCaps("CAP_CHOWN")), false, false},
		{"cap-net-bind-service-no-drop", minimal("cap-net-bind-service-no-drop", addCaps("NET_BIND_SERVICE")), true, false},
		{"cap-drop-all-and-more", hardened("cap-drop-all-and-more", func(p *corev1.Pod) {
			csc(p).Capabilities.Drop = []corev1.Capability{"NET_RAW", "ALL"}
		}), true, true},
		{"sysctl-tcp-rmem", hardened("sysctl-tcp-rmem", sysctl("net.ipv4.tcp_rmem", "4096 87380 6291456")), true, true},
		{"sysctl-tcp-slow-start-after-idle", hardened("sysctl-tcp-slow-start-after-idle", sysctl("net.ipv4.tcp_slow_start_after_idle", "0")), false, false},
		{"sysctl-tcp-notsent-lowat", hardened("sysctl-tcp-notsent-lowat", sysctl("net.ipv4.tcp_notsent_lowat", "16384")), false, false},
		{"sysctl-slash-separated", hardened("sysctl-slash-separated", sysctl("kernel/shm_rmid_forced", "1")), false, false},
		{"run-as-non-root-pod-false-container-true", hardened("run-as-non-root-pod-false-container-true", func(p *corev1.Pod) {
			psc(p).RunAsNonRoot = ptr(false)
			csc(p).RunAsNonRoot = ptr(true)
		}), true, false},
		{"run-as-user-0-pod-container-1000", hardened("run-as-user-0-pod-container-1000", func(p *corev1.Pod) {
			psc(p).RunAsUser = ptr(int64(0))
			csc(p).RunAsUser = ptr(int64(1000))
		}), true, false},
		{"init-run-as-user-0", hardened("init-run-as-user-0", initContainer(func(c *corev1.Container) { c.SecurityContext.RunAsUser = ptr(int64(0)) })), true, false},
		// In a user namespace (hostUsers: false) root is allowed (1.35+).
		{"userns-root", hardened("userns-root", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr(false)
			psc(p).RunAsNonRoot = nil
			csc(p).RunAsUser = ptr(int64(0))
		}), true, true},
		{"userns-run-as-non-root-false", hardened("userns-run-as-non-root-false", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr(false)
			csc(p).RunAsNonRoot = ptr(false)
		}), true, true},
		{"seccomp-pod-unconfined-container-default", hardened("seccomp-pod-unconfined-container-default", func(p *corev1.Pod) {
			psc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
			csc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		}), false, false},
		{"init-seccomp-unconfined", hardened("init-seccomp-unconfined", initContainer(func(c *corev1.Container) {
			c.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		})), false, false},
		{"selinux-kvm-and-init-types", hardened("selinux-kvm-and-init-types", seLinux(corev1.SELinuxOptions{Type: "container_kvm_t"}),
			initContainer(func(c *corev1.Container) {
				c.SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Type: "container_init_t"}
			})), true, true},
		{"selinux-engine-t", hardened("selinux-engine-t", seLinux(corev1.SELinuxOptions{Type: "container_engine_t"})), true, true}, // allowed from policy 1.31
		{"selinux-pod-spc-t", hardened("selinux-pod-spc-t", func(p *corev1.Pod) { psc(p).SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"} }), false, false},
		{"apparmor-annotation-localhost", hardened("apparmor-annotation-localhost", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "localhost/k8s-app"}
		}), true, true},
		{"init-host-port", hardened("init-host-port", initContainer(func(c *corev1.Container) {
			c.Ports = []corev1.ContainerPort{{ContainerPort: 53, HostPort: 53, Protocol: corev1.ProtocolUDP}}
		})), false, false},
		{"probe-empty-host", hardened("probe-empty-host", probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "", Path: "/healthz", Port: intOrStr(8080)}})), true, true},
		{"probe-tcp-localhost", hardened("probe-tcp-localhost", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: intOrStr(8080)}}}
		}), false, false},
		{"volume-ephemeral", hardened("volume-ephemeral", volume(corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}}})), true, true},
		{"volume-projected", hardened("volume-projected", volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}})), true, true},
		{"volume-git-repo", hardened("volume-git-repo", volume(corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "https://git.example/repo.git"}})), true, false},
		{"volume-rbd", hardened("volume-rbd", volume(corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"10.0.0.1:6789"}, RBDImage: "img"}})), true, false},
		{"windows-host-process-false", minimal("windows-host-process-false", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			psc(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(false)}
		}), true, false},
		{"windows-container-host-process", minimal("windows-container-host-process", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			p.Spec.HostNetwork = true
			csc(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}
		}), false, false},
		// Windows.
		{"windows-host-process", minimal("windows-host-process", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			p.Spec.HostNetwork = true
			psc(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true), RunAsUserName: ptr("NT AUTHORITY\\SYSTEM")}
		}), false, false},
		{"windows-restricted", minimal("windows-restricted", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			psc(p).RunAsNonRoot = ptr(true)
		}), true, true},
	}
}

// TestPSSParity checks that `bulwark scan k8s --policies pss-baseline` and
// `pss-restricted` give the real PodSecurity admission's verdict on every
// case: the API server decides with a server-side dry run. Pods go to
// namespaces labelled enforce=<level> (refused or not); the same pod as a
// Deployment and a CronJob template goes to namespaces labelled
// warn=<level>, since PodSecurity only warns about workload templates.
func TestPSSParity(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{})
	levels := []string{"baseline", "restricted"}
	for _, lvl := range levels {
		c.CreateNamespace(t, "pss-"+lvl, map[string]string{"pod-security.kubernetes.io/enforce": lvl, "pod-security.kubernetes.io/enforce-version": apiServerPSSVersion})
		c.CreateNamespace(t, "pss-warn-"+lvl, map[string]string{"pod-security.kubernetes.io/warn": lvl, "pod-security.kubernetes.io/warn-version": apiServerPSSVersion})
	}
	cases := pssCases()
	random := randomPods(*pssRandom, *pssSeed)

	var docs []string
	for _, p := range random {
		b, err := yaml.Marshal(withKind(p))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	for _, tc := range cases {
		for _, obj := range []any{withKind(tc.pod), deploymentOf(tc.pod, "team-a"), cronJobOf(tc.pod, "team-a")} {
			b, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(b))
		}
	}
	manifests := []byte(strings.Join(docs, "---\n"))
	ours := map[string]map[string][]string{} // level → kind/name → violated policy ids
	for _, lvl := range levels {
		ours[lvl] = scanViolations(t, manifests, "pss-"+lvl)
	}

	warn := &warnings{}
	cfg := rest.CopyConfig(c.Admin)
	cfg.WarningHandler = warn
	cs := c.Clientset(t, cfg)
	ctx := context.Background()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, lvl := range levels {
				want := tc.baseline
				if lvl == "restricted" {
					want = tc.restricted
				}
				_, err := cs.CoreV1().Pods("pss-"+lvl).Create(ctx, tc.pod.DeepCopy(), dryRun)
				apiAllowed := err == nil
				if err != nil && !(apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")) {
					t.Fatalf("%s: the API server refused the pod for another reason (fix the case): %v", lvl, err)
				}
				if apiAllowed != want {
					t.Errorf("%s: PodSecurity allowed=%t, the table says %t (%v)", lvl, apiAllowed, want, err)
				}
				compare(t, lvl, "Pod/"+tc.name, ours[lvl], apiAllowed, fmt.Sprint(err))

				// Workload templates: PodSecurity's verdict is its warning.
				ns := "pss-warn-" + lvl
				creates := map[string]func() error{
					"Deployment": func() error {
						_, err := cs.AppsV1().Deployments(ns).Create(ctx, deploymentOf(tc.pod, ns), dryRun)
						return err
					},
					"CronJob": func() error {
						_, err := cs.BatchV1().CronJobs(ns).Create(ctx, cronJobOf(tc.pod, ns), dryRun)
						return err
					},
				}
				for _, kind := range []string{"Deployment", "CronJob"} {
					warn.take()
					if err := creates[kind](); err != nil {
						t.Fatalf("%s %s: the API server refused it (fix the case): %v", lvl, kind, err)
					}
					var psa []string
					for _, w := range warn.take() {
						if strings.Contains(w, "would violate PodSecurity") {
							psa = append(psa, w)
						}
					}
					if (len(psa) == 0) != apiAllowed {
						t.Errorf("%s %s: PodSecurity warnings %q, but the pod was allowed=%t", lvl, kind, psa, apiAllowed)
					}
					compare(t, lvl, kind+"/"+tc.name, ours[lvl], len(psa) == 0, strings.Join(psa, "; "))
				}
			}
		})
	}
	// Random combinations of single-field changes: pods the API server
	// refuses as invalid are skipped, the rest compared like the table.
	t.Run("random", func(t *testing.T) {
		compared := 0
		for _, p := range random {
			valid := true
			for _, lvl := range levels {
				_, err := cs.CoreV1().Pods("pss-"+lvl).Create(ctx, p.DeepCopy(), dryRun)
				if err != nil && !(apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")) {
					valid = false // invalid pod: no PodSecurity verdict
					break
				}
				before := t.Failed()
				compare(t, lvl, "Pod/"+p.Name, ours[lvl], err == nil, fmt.Sprint(err))
				if !before && t.Failed() {
					b, _ := yaml.Marshal(p)
					t.Logf("the pod (seed %d):\n%s", *pssSeed, b)
				}
			}
			if valid {
				compared++
			}
		}
		if compared < len(random)/2 {
			t.Errorf("only %d of %d random pods were valid; the generator needs fixing", compared, len(random))
		}
		t.Logf("%d of %d random pods valid and compared (seed %d)", compared, len(random), *pssSeed)
	})
}

var (
	pssRandom = flag.Int("pss-random", 200, "random pods TestPSSParity compares")
	pssSeed   = flag.Uint64("pss-seed", 136, "seed of the random pods")
)

// pssMutations are single-field changes; randomPods combines them.
func pssMutations() []func(*corev1.Pod) {
	unmasked := corev1.UnmaskedProcMount
	var ms []func(*corev1.Pod)
	for _, c := range []corev1.Capability{"SYS_ADMIN", "NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "CHOWN", "AUDIT_WRITE", "KILL"} {
		ms = append(ms, addCaps(c))
	}
	for _, sp := range []*corev1.SeccompProfile{nil, {Type: corev1.SeccompProfileTypeUnconfined}, {Type: corev1.SeccompProfileTypeRuntimeDefault},
		{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("p.json")}} {
		ms = append(ms, func(p *corev1.Pod) { psc(p).SeccompProfile = sp }, func(p *corev1.Pod) { csc(p).SeccompProfile = sp })
	}
	for _, b := range []*bool{nil, ptr(true), ptr(false)} {
		ms = append(ms,
			func(p *corev1.Pod) { psc(p).RunAsNonRoot = b },
			func(p *corev1.Pod) { csc(p).RunAsNonRoot = b },
			func(p *corev1.Pod) { csc(p).AllowPrivilegeEscalation = b })
	}
	for _, u := range []*int64{nil, ptr(int64(0)), ptr(int64(1000))} {
		ms = append(ms, func(p *corev1.Pod) { psc(p).RunAsUser = u }, func(p *corev1.Pod) { csc(p).RunAsUser = u })
	}
	ms = append(ms,
		func(p *corev1.Pod) { p.Spec.HostNetwork = true },
		func(p *corev1.Pod) { p.Spec.HostPID = true },
		func(p *corev1.Pod) { p.Spec.HostIPC = true },
		func(p *corev1.Pod) { p.Spec.HostUsers = ptr(false) },
		func(p *corev1.Pod) { csc(p).Privileged = ptr(true); csc(p).AllowPrivilegeEscalation = nil },
		func(p *corev1.Pod) { csc(p).Privileged = ptr(false) },
		func(p *corev1.Pod) { csc(p).Capabilities = nil },
		func(p *corev1.Pod) { csc(p).Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}} },
		func(p *corev1.Pod) { csc(p).ProcMount = &unmasked },
		func(p *corev1.Pod) { csc(p).ReadOnlyRootFilesystem = ptr(true) },
		volume(corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}),
		volume(corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/x"}}),
		volume(corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
		volume(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}),
		func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 9000, HostPort: 9000})
		},
		func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
		},
		func(p *corev1.Pod) {
			csc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
		},
		func(p *corev1.Pod) {
			psc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		},
		seLinux(corev1.SELinuxOptions{Type: "spc_t"}),
		seLinux(corev1.SELinuxOptions{Type: "container_t", Level: "s0:c1,c2"}),
		seLinux(corev1.SELinuxOptions{User: "system_u"}),
		func(p *corev1.Pod) { psc(p).SELinuxOptions = &corev1.SELinuxOptions{Role: "system_r"} },
		sysctl("net.ipv4.tcp_syncookies", "1"),
		sysctl("kernel.sem", "250 32000 100 128"),
		probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "169.254.169.254", Port: intOrStr(80)}}),
		probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrStr(80)}}),
		// An init container copying the main one as changed so far.
		initContainer(func(*corev1.Container) {}),
	)
	return ms
}

// randomPods returns n pods, each hardened or minimal with one to four
// random mutations, deterministic for a seed.
func randomPods(n int, seed uint64) []*corev1.Pod {
	rng := rand.New(rand.NewPCG(seed, 1))
	ms := pssMutations()
	out := make([]*corev1.Pod, 0, n)
	for i := range n {
		name := fmt.Sprintf("rand-%03d", i)
		p := minimal(name)
		if rng.IntN(2) == 0 {
			p = hardened(name)
		}
		for range 1 + rng.IntN(4) {
			ms[rng.IntN(len(ms))](p)
		}
		out = append(out, p)
	}
	return out
}

// compare checks bulwark's verdict on one object against PodSecurity's.
func compare(t *testing.T, lvl, ref string, ours map[string][]string, apiAllowed bool, apiSaid string) {
	t.Helper()
	vs, ok := ours[ref]
	if !ok {
		t.Errorf("%s: bulwark reported nothing for %s", lvl, ref)
		return
	}
	if ourAllowed := len(vs) == 0; ourAllowed != apiAllowed {
		t.Errorf("%s %s: bulwark allowed=%t (violations %v), PodSecurity allowed=%t (%s)", lvl, ref, ourAllowed, vs, apiAllowed, apiSaid)
	}
}

func deploymentOf(p *corev1.Pod, ns string) *appsv1.Deployment {
	labels := map[string]string{"app": p.Name}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: p.Annotations}, Spec: *p.Spec.DeepCopy()}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}
}

func cronJobOf(p *corev1.Pod, ns string) *batchv1.CronJob {
	spec := *p.Spec.DeepCopy()
	spec.RestartPolicy = corev1.RestartPolicyNever // a job's pods must not restart Always
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: p.Annotations}, Spec: spec}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns},
		Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: tmpl},
		}},
	}
}

func withKind(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	p.APIVersion, p.Kind = "v1", "Pod"
	p.Namespace = "team-a" // neither default nor an excluded namespace
	return p
}

// scanViolations runs `bulwark scan k8s` over the manifests and returns the
// violated policy ids per kind/name.
// apiServerPSSVersion is the Pod Security Standards version of the API
// server test/go.mod pins (k8s.io/kubernetes v1.36): both sides are held to
// it, since Bulwark's latest (the reference fixtures' newest, v1.37) can be
// newer than the API server's.
const apiServerPSSVersion = "v1.36"

func scanViolations(t *testing.T, manifests []byte, set string) map[string][]string {
	t.Helper()
	out := runBulwark(t, manifests, nil, "scan", "k8s", "--policies", set, "--pss-version", apiServerPSSVersion, "--format", "json", "-")
	var rep struct {
		Results []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Violations []struct {
				PolicyID string `json:"policy_id"`
			} `json:"violations"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("decoding scan k8s --format json: %v", err)
	}
	got := map[string][]string{}
	for _, r := range rep.Results {
		ids := []string{}
		for _, v := range r.Violations {
			ids = append(ids, v.PolicyID)
		}
		got[r.Kind+"/"+r.Name] = ids
	}
	return got
}

func intOrStr(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }
