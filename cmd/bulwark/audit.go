package main

import (
	"errors"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"time"

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
			eng, err := newPolicyEngine(cmd, g, config)
			if err != nil {
				return err
			}
			selected, err := policyreport.Select(policies, eng.Policies())
			if err != nil {
				return &usageError{err}
			}
			sc, err := srv.client()
			if err != nil {
				return err
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
			items, listErr := clusterscan.Scan(ctx, clusterscan.Options{
				Lister: cl.Lister, Evaluator: eng, Cluster: clusterID, Namespace: ns, Logger: k8sLogger(g),
			})
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
