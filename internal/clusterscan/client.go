package clusterscan

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultPageSize is the Limit of each list request: big enough for few
// round trips, small enough that the API server never builds a huge
// response.
const DefaultPageSize = 500

// Cluster is a connection to a live cluster.
type Cluster struct {
	// Name is the kubeconfig context's cluster name ("in-cluster" from a
	// pod's service account).
	Name string
	// Namespace is the context's namespace ("default" when it sets none).
	Namespace string
	Lister    Lister
	// Config is the client configuration (for watches: the cluster agent).
	Config *rest.Config
}

// ConnectOptions say which kubeconfig and context to use.
type ConnectOptions struct {
	Kubeconfig string // empty: $KUBECONFIG, ~/.kube/config, then in-cluster
	Context    string // empty: the current context
	PageSize   int64  // default DefaultPageSize
}

// Connect loads the kubeconfig the way kubectl does and returns a Lister
// over the dynamic client.
func Connect(o ConnectOptions) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig namespace: %w", err)
	}
	name := "in-cluster"
	if raw, err := cc.RawConfig(); err == nil {
		ctxName := o.Context
		if ctxName == "" {
			ctxName = raw.CurrentContext
		}
		if c, ok := raw.Contexts[ctxName]; ok && c.Cluster != "" {
			name = c.Cluster
		}
	}
	l, err := NewLister(cfg, o.PageSize)
	if err != nil {
		return nil, err
	}
	return &Cluster{Name: name, Namespace: ns, Lister: l, Config: cfg}, nil
}

// ID is the cluster's identity: the UID of its kube-system namespace,
// stable for the cluster's life whatever a kubeconfig calls it.
func (c *Cluster) ID(ctx context.Context) (string, error) {
	g, ok := c.Lister.(NamespaceGetter)
	if !ok {
		return "", errors.New("cluster identity: the lister cannot read namespaces")
	}
	ns, err := g.GetNamespace(ctx, "kube-system")
	if err != nil {
		return "", fmt.Errorf("cluster identity: read namespace kube-system: %w", err)
	}
	md, _ := ns["metadata"].(map[string]any)
	uid, _ := md["uid"].(string)
	if uid == "" {
		return "", errors.New("cluster identity: namespace kube-system has no uid")
	}
	return uid, nil
}

// NewLister returns a Lister over the dynamic client for cfg, listing
// pageSize objects per request (0: DefaultPageSize).
func NewLister(cfg *rest.Config, pageSize int64) (Lister, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "bulwark-audit"
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return &dynamicLister{client: dyn, pageSize: pageSize}, nil
}

type dynamicLister struct {
	client   dynamic.Interface
	pageSize int64
}

var _ NamespaceGetter = (*dynamicLister)(nil)

// GetNamespace implements NamespaceGetter.
func (d *dynamicLister) GetNamespace(ctx context.Context, name string) (Object, error) {
	u, err := d.client.Resource(namespaceKind.Resource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return u.Object, nil
}

// List pages through the kind with Limit and Continue. A continue token
// that expired mid-listing (410 Gone) is an error: a restart would report
// objects twice.
func (d *dynamicLister) List(ctx context.Context, k Kind, namespace string, fn func(Object) error) error {
	ri := d.client.Resource(k.Resource).Namespace(namespace)
	opts := metav1.ListOptions{Limit: d.pageSize}
	for {
		list, err := ri.List(ctx, opts)
		if err != nil {
			return err
		}
		for i := range list.Items {
			if err := fn(list.Items[i].Object); err != nil {
				return err
			}
		}
		next := list.GetContinue()
		if next == "" {
			return nil
		}
		if next == opts.Continue {
			return errors.New("the API server returned the same continue token twice")
		}
		opts.Continue = next
	}
}
