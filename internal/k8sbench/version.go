package k8sbench

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
	corev1 "k8s.io/api/core/v1"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// VersionFinding is one CVE of the Kubernetes CVE feed that affects a
// version running in the cluster.
type VersionFinding struct {
	ID        string
	Component string // "control plane v1.27.1" or "kubelet v1.27.1 on node n1"
	Package   string // the feed's package (k8s.io/apiserver)
	Fixed     string // first fixed version on the running line, when known
	Severity  model.Severity
	Summary   string
}

// KubeEcosystems are the ecosystem names the Kubernetes CVE feed's records
// are stored under: the feed's own "kubernetes" (what the OSV loader keeps)
// and advisory.EcoKube.
var KubeEcosystems = []string{"kubernetes", advisory.EcoKube}

// controlPlanePackages are the feed's package names for code that runs in
// the control plane; nodePackages for the node components, checked against
// each node's reported versions.
var (
	controlPlanePackages = []string{"k8s.io/kubernetes", "k8s.io/apiserver", "k8s.io/kube-apiserver", "k8s.io/controller-manager", "k8s.io/kube-controller-manager", "k8s.io/kube-scheduler"}
	kubeletPackages      = []string{"k8s.io/kubelet", "k8s.io/kubernetes"}
	proxyPackages        = []string{"k8s.io/kube-proxy"}
)

// VulnerableVersions checks the server version and every node's kubelet
// and kube-proxy versions against the feed (ecosystem "Kubernetes" in the
// Bulwark DB).
func VulnerableVersions(ctx context.Context, db advisory.Reader, serverVersion string, nodes []corev1.Node) ([]VersionFinding, error) {
	var out []VersionFinding
	seen := map[string]bool{}
	check := func(version, component string, pkgs []string) error {
		v := releaseVersion(version)
		if v == "" {
			return nil
		}
		for _, pkg := range pkgs {
			var as []advisory.Affected
			for _, eco := range KubeEcosystems {
				a, err := db.Affected(ctx, eco, pkg)
				if err != nil {
					return fmt.Errorf("look up %s: %w", pkg, err)
				}
				as = append(as, a...)
			}
			for _, a := range as {
				hit, fixed := affects(a, v)
				key := a.VulnID + "\x00" + component
				if !hit || seen[key] {
					continue
				}
				seen[key] = true
				f := VersionFinding{ID: a.VulnID, Component: component, Package: pkg, Fixed: fixed, Severity: a.Severity}
				if vuln, ok, err := db.Vulnerability(ctx, a.VulnID); err == nil && ok {
					f.Summary = vuln.Summary
					if f.Severity == "" {
						f.Severity = vuln.Severity
					}
				}
				if f.Severity == "" {
					f.Severity = model.SeverityUnknown
				}
				out = append(out, f)
			}
		}
		return nil
	}
	if err := check(serverVersion, "control plane "+serverVersion, controlPlanePackages); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		ni := n.Status.NodeInfo
		if err := check(ni.KubeletVersion, "kubelet "+ni.KubeletVersion+" on node "+n.Name, kubeletPackages); err != nil {
			return nil, err
		}
		if err := check(ni.KubeProxyVersion, "kube-proxy "+ni.KubeProxyVersion+" on node "+n.Name, proxyPackages); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Component < out[j].Component
	})
	return out, nil
}

// releaseVersion turns a reported version into the release it is built
// from: "v1.29.3-eks-adc7111" and "v1.30.2+k3s1" are builds of v1.29.3 and
// v1.30.2; alpha, beta and rc pre-releases are kept.
func releaseVersion(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	v = semver.Canonical(v)
	if v == "" {
		return ""
	}
	if pre := semver.Prerelease(v); pre != "" {
		p := strings.TrimPrefix(pre, "-")
		if !strings.HasPrefix(p, "alpha") && !strings.HasPrefix(p, "beta") && !strings.HasPrefix(p, "rc") {
			v = strings.TrimSuffix(v, pre)
		}
	}
	return v
}

// affects evaluates OSV SEMVER/ECOSYSTEM ranges (introduced, fixed,
// last_affected) and explicit versions for v ("v1.27.1"), returning the
// fix of the range it falls in.
func affects(a advisory.Affected, v string) (bool, string) {
	for _, ver := range a.Versions {
		if releaseVersion(ver) == v {
			return true, ""
		}
	}
	for _, r := range a.Ranges {
		if r.Type == advisory.RangeGit {
			continue
		}
		in, fixed := false, ""
		for _, e := range r.Events {
			switch {
			case e.Introduced != "":
				intro := "v0.0.0"
				if e.Introduced != "0" {
					intro = releaseVersion(e.Introduced)
				}
				if intro != "" && semver.Compare(v, intro) >= 0 {
					in, fixed = true, ""
				}
			case e.Fixed != "":
				if f := releaseVersion(e.Fixed); f != "" && in && semver.Compare(v, f) >= 0 {
					in = false
				} else if in && fixed == "" {
					fixed = strings.TrimPrefix(f, "v")
				}
			case e.LastAffected != "":
				if l := releaseVersion(e.LastAffected); l != "" && in && semver.Compare(v, l) > 0 {
					in = false
				}
			}
		}
		if in {
			return true, fixed
		}
	}
	return false, ""
}
