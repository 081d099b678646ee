package k8sbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

// Kubeconfig is a loaded client configuration.
type Kubeconfig struct {
	Config  *rest.Config
	Context string
	Cluster string // the context's cluster name; "in-cluster" from a pod
}

// LoadKubeconfig reads a kubeconfig the way kubectl does (path "" means
// $KUBECONFIG, ~/.kube/config, then the pod's service account).
func LoadKubeconfig(path, context string) (*Kubeconfig, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	k := &Kubeconfig{Config: cfg, Context: context, Cluster: "in-cluster"}
	if raw, err := cc.RawConfig(); err == nil {
		if k.Context == "" {
			k.Context = raw.CurrentContext
		}
		if c, ok := raw.Contexts[k.Context]; ok && c.Cluster != "" {
			k.Cluster = c.Cluster
		}
	}
	return k, nil
}

// APIOptions configure CollectCluster.
type APIOptions struct {
	Kubeconfig *Kubeconfig
	// Name overrides the cluster's name (--cluster-name).
	Name string
	// CVE is the vulnerability data the version is checked against (the
	// Bulwark DB); nil leaves BW-K8S-CLUSTER-VERSION not assessed.
	CVE advisory.Reader
	// CVEFeed describes CVE for evidence ("bulwark DB built …").
	CVEFeed string
	// CVEUnavailable says why CVE is nil, for the not-assessed evidence.
	CVEUnavailable string
	// PageSize is each list request's limit (default 500).
	PageSize int64
	Logger   *slog.Logger
}

// CollectCluster reads everything the policy and cluster checks need, in
// parallel. Sources it may not read are recorded in missing (forbidden) or
// failed (anything else); it returns an error only when the API server
// cannot be reached at all.
func CollectCluster(ctx context.Context, o APIOptions) (c *Cluster, missing, failed map[Source]string, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	cfg := rest.CopyConfig(o.Kubeconfig.Config)
	if cfg.QPS == 0 {
		// Fifteen parallel lists must not queue behind client-go's default 5 QPS.
		cfg.QPS, cfg.Burst = 100, 200
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	c = &Cluster{Name: o.Kubeconfig.Cluster, Context: o.Kubeconfig.Context}
	if o.Name != "" {
		c.Name = o.Name
	}
	kubeSystem, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("get namespace kube-system on %s: %w", cfg.Host, err)
	}
	c.UID = string(kubeSystem.UID)

	missing, failed = map[Source]string{}, map[Source]string{}
	var mu sync.Mutex
	record := func(src Source, what string, err error) {
		if err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		msg := what + ": " + err.Error()
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			if _, dup := missing[src]; !dup {
				missing[src] = msg
			}
			return
		}
		if _, dup := failed[src]; !dup {
			failed[src] = msg
		}
	}
	page := o.PageSize
	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	all := metav1.NamespaceAll
	run(func() {
		v, err := cs.Discovery().ServerVersion()
		record(SourceVersion, "get /version", err)
		if err == nil {
			c.Version = v.GitVersion
		}
	})
	run(func() {
		var err error
		c.Namespaces, err = listAll(ctx, page, func(o metav1.ListOptions) (*corev1.NamespaceList, error) {
			return cs.CoreV1().Namespaces().List(ctx, o)
		}, func(l *corev1.NamespaceList) ([]corev1.Namespace, string) { return l.Items, l.Continue })
		record(SourceNS, "list namespaces", err)
	})
	run(func() {
		var err error
		c.Pods, err = listAll(ctx, page, func(o metav1.ListOptions) (*corev1.PodList, error) { return cs.CoreV1().Pods(all).List(ctx, o) }, func(l *corev1.PodList) ([]corev1.Pod, string) { return l.Items, l.Continue })
		record(SourcePods, "list pods", err)
	})
	run(func() {
		var err error
		c.ServiceAccounts, err = listAll(ctx, page, func(o metav1.ListOptions) (*corev1.ServiceAccountList, error) {
			return cs.CoreV1().ServiceAccounts(all).List(ctx, o)
		}, func(l *corev1.ServiceAccountList) ([]corev1.ServiceAccount, string) { return l.Items, l.Continue })
		record(SourcePods, "list serviceaccounts", err)
	})
	run(func() {
		var err error
		c.Services, err = listAll(ctx, page, func(o metav1.ListOptions) (*corev1.ServiceList, error) { return cs.CoreV1().Services(all).List(ctx, o) }, func(l *corev1.ServiceList) ([]corev1.Service, string) { return l.Items, l.Continue })
		record(SourceServices, "list services", err)
	})
	run(func() {
		var err error
		c.Nodes, err = listAll(ctx, page, func(o metav1.ListOptions) (*corev1.NodeList, error) { return cs.CoreV1().Nodes().List(ctx, o) }, func(l *corev1.NodeList) ([]corev1.Node, string) { return l.Items, l.Continue })
		record(SourceVersion, "list nodes", err)
	})
	run(func() {
		var err error
		c.NetworkPolicies, err = listAll(ctx, page, func(o metav1.ListOptions) (*networkingv1.NetworkPolicyList, error) {
			return cs.NetworkingV1().NetworkPolicies(all).List(ctx, o)
		}, func(l *networkingv1.NetworkPolicyList) ([]networkingv1.NetworkPolicy, string) {
			return l.Items, l.Continue
		})
		record(SourceNetPol, "list networkpolicies", err)
	})
	run(func() {
		var err error
		c.Roles, err = listAll(ctx, page, func(o metav1.ListOptions) (*rbacv1.RoleList, error) { return cs.RbacV1().Roles(all).List(ctx, o) }, func(l *rbacv1.RoleList) ([]rbacv1.Role, string) { return l.Items, l.Continue })
		record(SourceRBAC, "list roles", err)
	})
	run(func() {
		var err error
		c.ClusterRoles, err = listAll(ctx, page, func(o metav1.ListOptions) (*rbacv1.ClusterRoleList, error) {
			return cs.RbacV1().ClusterRoles().List(ctx, o)
		}, func(l *rbacv1.ClusterRoleList) ([]rbacv1.ClusterRole, string) { return l.Items, l.Continue })
		record(SourceRBAC, "list clusterroles", err)
	})
	run(func() {
		var err error
		c.RoleBindings, err = listAll(ctx, page, func(o metav1.ListOptions) (*rbacv1.RoleBindingList, error) {
			return cs.RbacV1().RoleBindings(all).List(ctx, o)
		}, func(l *rbacv1.RoleBindingList) ([]rbacv1.RoleBinding, string) { return l.Items, l.Continue })
		record(SourceRBAC, "list rolebindings", err)
	})
	run(func() {
		var err error
		c.ClusterRoleBindings, err = listAll(ctx, page, func(o metav1.ListOptions) (*rbacv1.ClusterRoleBindingList, error) {
			return cs.RbacV1().ClusterRoleBindings().List(ctx, o)
		}, func(l *rbacv1.ClusterRoleBindingList) ([]rbacv1.ClusterRoleBinding, string) {
			return l.Items, l.Continue
		})
		record(SourceRBAC, "list clusterrolebindings", err)
	})
	run(func() {
		var err error
		c.ValidatingWebhooks, err = listAll(ctx, page, func(o metav1.ListOptions) (*admissionregistrationv1.ValidatingWebhookConfigurationList, error) {
			return cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, o)
		}, func(l *admissionregistrationv1.ValidatingWebhookConfigurationList) ([]admissionregistrationv1.ValidatingWebhookConfiguration, string) {
			return l.Items, l.Continue
		})
		record(SourceAPI, "list validatingwebhookconfigurations", err)
		l, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, metav1.ListOptions{})
		record(SourceAPI, "list validatingadmissionpolicies", err)
		if err == nil {
			c.ValidatingPolicies = len(l.Items)
		}
	})
	run(func() { c.Anonymous = probeAnonymous(ctx, o.Kubeconfig.Config) })
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, nil, fmt.Errorf("collect cluster %s: %w", c.Name, ctx.Err())
	}
	for i := range c.Pods {
		p := &c.Pods[i]
		if p.Namespace == "kube-system" && p.Labels["component"] == "kube-apiserver" && len(p.Spec.Containers) > 0 {
			args := append(append([]string(nil), p.Spec.Containers[0].Command...), p.Spec.Containers[0].Args...)
			c.APIServer = newProc(APIServer, 0, "pod kube-system/"+p.Name, args)
			break
		}
	}
	if o.CVE == nil {
		missing[SourceCVE] = cmp.Or(o.CVEUnavailable, "no vulnerability DB: run `bulwark db update` (its Kubernetes CVE feed is what the version is checked against)")
	} else if c.Version != "" {
		c.CVEFeed = o.CVEFeed
		vs, err := VulnerableVersions(ctx, o.CVE, c.Version, c.Nodes)
		record(SourceCVE, "look up the Kubernetes CVE feed", err)
		c.Vulnerable = vs
	}
	log.Debug("cluster collected", "cluster", c.Name, "uid", c.UID, "pods", len(c.Pods), "namespaces", len(c.Namespaces))
	return c, missing, failed, nil
}

// listAll pages through one list call: list fetches a page, items returns
// the page's Items and continue token.
func listAll[L any, T any](ctx context.Context, page int64, list func(metav1.ListOptions) (L, error), items func(L) ([]T, string)) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: page}
	for {
		l, err := list(opts)
		if err != nil {
			return out, err
		}
		its, cont := items(l)
		out = append(out, its...)
		if cont == "" || ctx.Err() != nil {
			return out, ctx.Err()
		}
		opts.Continue = cont
	}
}

// probeAnonymous sends GET /api without credentials: 401 means anonymous
// authentication is off; anything else means the API server took the
// request as system:anonymous.
func probeAnonymous(ctx context.Context, cfg *rest.Config) AnonymousProbe {
	anon := rest.AnonymousClientConfig(cfg)
	anon.Timeout = 10 * time.Second
	hc, err := rest.HTTPClientFor(anon)
	if err != nil {
		return AnonymousProbe{Err: "anonymous client: " + err.Error()}
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, anon.Host+"/api", nil)
	if err != nil {
		return AnonymousProbe{Err: err.Error()}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return AnonymousProbe{Err: "GET /api without credentials: " + err.Error()}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return AnonymousProbe{Done: true, Status: resp.StatusCode}
}
