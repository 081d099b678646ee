package main

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/spf13/cobra"
)

// newAuditCmd returns `audit` with its `k8s` subcommand.
func newAuditCmd(g *globalFlags) *cobra.Command {
	a := &cobra.Command{Use: "audit", Short: "Assess what is running now (a live Kubernetes cluster)"}
	var (
		kubeconfig, kctx, namespace, format, output, policies, config string
		clusterName                                                   string
		srv                                                           serverFlags
		allNamespaces                                                 bool
		exitCode                                                      int
		pageSize                                                      int64
	)
	k8s := &cobra.Command{
		Use:   "k8s",
		Short: "Evaluate every workload of a live Kubernetes cluster against the workload policies",
		Long: `Lists every Pod not owned by a listed controller, Deployment, ReplicaSet not
owned by a Deployment, StatefulSet, DaemonSet, Job not owned by a CronJob,
CronJob, ReplicationController, Service and Ingress (paginated), evaluates each
with the policies of scan k8s and the admission webhook, and reports per
resource (id cluster/namespace/kind/name). Without --namespace or
--all-namespaces the kubeconfig context's namespace is audited, as kubectl does.
With --server, the report is sent to the server, and BW-K8S-IMAGE-VULNS is
judged by the server's vulnerability verdicts of the images the workloads
run, fetched in one batch before evaluation (POST /api/v1/images/verdicts:
the token needs the read scope besides ingest); images the server does not
know are listed as not judged.
Exit codes: 0 done, 1 error (also when a kind could not be listed: the report
is still written), 2 usage error, N from --exit-code on enforce-mode violations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if allNamespaces && namespace != "" {
				return &usageError{errors.New("--namespace and --all-namespaces exclude each other")}
			}
			ctx := cmd.Context()
			sc, err := srv.client()
			if err != nil {
				return err
			}
			// With a server, BW-K8S-IMAGE-VULNS is judged by its verdicts,
			// fetched in one batch once the cluster is listed.
			var verdicts *verdictBatch
			var engOpts []policy.Option
			if sc != nil {
				verdicts = &verdictBatch{c: sc}
				engOpts = append(engOpts, policy.WithImageVerdicts(verdicts.lookup))
			}
			eng, err := newPolicyEngine(cmd, g, config, engOpts...)
			if err != nil {
				return err
			}
			selected, err := policyreport.Select(policies, eng.Policies())
			if err != nil {
				return &usageError{err}
			}
			cl, err := clusterscan.Connect(clusterscan.ConnectOptions{Kubeconfig: kubeconfig, Context: kctx, PageSize: pageSize})
			if err != nil {
				return &usageError{err}
			}
			if clusterName != "" {
				cl.Name = clusterName
			}
			// The cluster's identity is its kube-system namespace's UID: the
			// same whatever the kubeconfig calls it.
			clusterID, idErr := cl.ID(ctx)
			if idErr != nil {
				k8sLogger(g).WarnContext(ctx, "cluster identity unknown: resource ids use the cluster's name", "err", idErr)
				clusterID = cl.Name
			}
			ns := namespace
			switch {
			case allNamespaces:
				ns = ""
			case ns == "":
				ns = cl.Namespace
			}
			so := clusterscan.Options{Lister: cl.Lister, Evaluator: eng, Cluster: clusterID, Namespace: ns, Logger: k8sLogger(g)}
			if verdicts != nil {
				so.Prefetch = verdicts.fetch
			}
			items, listErr := clusterscan.Scan(ctx, so)
			if items == nil && listErr != nil && !hasKindErrors(listErr) {
				return fmt.Errorf("audit cluster %s: %w", cl.Name, listErr)
			}
			rep := policyreport.New(version, time.Now(), selected)
			rep.Cluster = cl.Name
			if idErr == nil {
				rep.ClusterID = clusterID
			}
			rep.PSSVersion = resolvePSS(policy.PSSLatest).String() // where no namespace label says otherwise
			for _, it := range items {
				rep.Add(it.Result, it.Resource)
			}
			rep.Sort()
			for _, e := range unjoin(listErr) {
				if e != nil {
					rep.LoadErrors = append(rep.LoadErrors, e.Error())
				}
			}
			if err := writeReport(cmd, rep, format, output); err != nil {
				return err
			}
			if err := srv.send(ctx, cmd.ErrOrStderr(), sc, ingest.KindK8sPolicy, rep); err != nil {
				return err
			}
			if len(rep.LoadErrors) > 0 {
				return fmt.Errorf("%d kind(s) could not be listed (see load_errors in the report)", len(rep.LoadErrors))
			}
			return enforceGate(rep, exitCode)
		},
	}
	fl := k8s.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)")
	fl.StringVar(&kctx, "context", "", "kubeconfig context `NAME` (default: the current context)")
	fl.StringVarP(&namespace, "namespace", "n", "", "audit only this `NAMESPACE` (default: the context's namespace)")
	fl.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "audit every namespace")
	fl.StringVarP(&format, "format", "f", "table", "output `FORMAT`: table, json, sarif")
	fl.StringVarP(&output, "output", "o", "", "write the report to this `FILE` instead of stdout")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this `CODE` when any enforce-mode policy is violated")
	fl.StringVar(&policies, "policies", "all", "policies to report: all, pss-baseline, pss-restricted, defender, custom, or policy ids; comma-separated")
	fl.StringVar(&config, "config", "", "policy config `FILE` (YAML: modes, parameters, namespaces include/exclude, exempt images, policy dirs)")
	fl.StringVar(&clusterName, "cluster-name", "", "the cluster's display name (default: the kubeconfig context's cluster name); its identity is the kube-system namespace UID")
	srv.register(k8s)
	fl.Int64Var(&pageSize, "page-size", clusterscan.DefaultPageSize, "objects per list request")
	a.AddCommand(k8s)
	return a
}

// hasKindErrors reports whether err holds a kind that could not be listed
// (the report is still written) rather than a failure of the whole scan.
func hasKindErrors(err error) bool {
	var ke *clusterscan.KindError
	return errors.As(err, &ke)
}

// verdictBatch holds the server's verdicts of the images audit k8s found,
// fetched once (fetch) and read by the policy engine (lookup).
type verdictBatch struct {
	c  *client.Client
	by map[string]model.ImageVerdict
}

// fetch asks the server for every image, store.MaxImageLookups at a time.
func (v *verdictBatch) fetch(ctx context.Context, images []string) error {
	by := make(map[string]model.ImageVerdict, len(images))
	for start := 0; start < len(images); start += store.MaxImageLookups {
		chunk := images[start:min(start+store.MaxImageLookups, len(images))]
		vs, err := v.c.ImageVerdicts(ctx, chunk)
		if err != nil {
			return fmt.Errorf("image verdicts from the server: %w", err)
		}
		for _, x := range vs {
			by[x.Image] = x
		}
	}
	v.by = by // written before any evaluation starts (clusterscan.Options.Prefetch)
	return nil
}

func (v *verdictBatch) lookup(image string) (model.ImageVerdict, bool) {
	x, ok := v.by[image]
	return x, ok && x.Known
}
