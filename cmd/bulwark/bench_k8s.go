package main

import (
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

func newBenchK8sCmd(g *globalFlags) *cobra.Command {
	var (
		kubeconfig, kubeContext, clusterName, root, procDir, nodeName string
		targets, checks, exclude, profile, allowed, format, output    string
		node                                                          bool
		exitCode                                                      int
		srv                                                           serverFlags
	)
	c := &cobra.Command{
		Use:   "k8s",
		Short: "Assess a Kubernetes cluster against the CIS Kubernetes Benchmark v1.12 and Bulwark's cluster recommendations",
		Long: `Node checks (--node) read the control-plane and kubelet processes' command lines,
static pod manifests, the kubelet's effective configuration and file owners and modes
under --root. API checks (policies, cluster) read RBAC, namespaces, pods, services,
NetworkPolicies and the version through the kubeconfig; the version is checked against
the Kubernetes CVE feed in the vulnerability DB (bulwark db update).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(k8sbench.Formats, format) {
				return &usageError{fmt.Errorf("--format %q: want one of %s", format, strings.Join(k8sbench.Formats, ", "))}
			}
			prof, ok := k8sbench.Profiles[profile]
			if !ok {
				return &usageError{fmt.Errorf("--profile %q: want generic, eks, gke or aks", profile)}
			}
			ports, err := parsePorts(allowed)
			if err != nil {
				return &usageError{fmt.Errorf("--allowed-ports: %w", err)}
			}
			tgs, err := k8sbench.ParseTargets(splitList(targets))
			if err != nil {
				return &usageError{fmt.Errorf("--targets: %w", err)}
			}
			explicitAPI := cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context") || os.Getenv("KUBECONFIG") != ""
			if len(tgs) == 0 {
				tgs = k8sbench.DefaultTargets(node, !node || explicitAPI)
			}
			wantNode, wantAPI := false, false
			for _, t := range tgs {
				wantNode = wantNode || t.NodeSide()
				wantAPI = wantAPI || !t.NodeSide()
			}
			if err := k8sbench.ValidateSelection(splitList(checks), splitList(exclude)); err != nil {
				return &usageError{err}
			}
			cfg := k8sbench.Config{
				Node:         wantNode,
				NodeOptions:  k8sbench.NodeOptions{Root: root, Proc: procDir, Name: nodeName},
				Profile:      prof,
				AllowedPorts: ports,
				Options:      k8sbench.Options{Targets: tgs, Checks: splitList(checks), Exclude: splitList(exclude), Version: version},
				Logger:       g.logger,
			}
			if wantAPI {
				kc, err := k8sbench.LoadKubeconfig(kubeconfig, kubeContext)
				if err != nil {
					return &usageError{err}
				}
				api := &k8sbench.APIOptions{Kubeconfig: kc, Name: clusterName}
				db, why := openCVEData(g.cacheDir)
				if db != nil {
					defer db.Close()
					api.CVE = db
					api.CVEFeed = fmt.Sprintf("Kubernetes CVE feed in the bulwark DB built %s", db.Meta().BuiltAt.UTC().Format(time.RFC3339))
				}
				api.CVEUnavailable = why
				cfg.API = api
			}
			sc, err := srv.client()
			if err != nil {
				return err
			}
			rep, err := k8sbench.Assess(cmd.Context(), cfg, time.Now())
			if err != nil {
				return err
			}
			err = writeOutput(cmd, output, format == "table", func(w io.Writer) error {
				if err := k8sbench.Write(w, format, rep); err != nil {
					return fmt.Errorf("write %s report: %w", format, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := srv.send(cmd.Context(), cmd.ErrOrStderr(), sc, ingest.KindK8sBench, rep); err != nil {
				return err
			}
			if exitCode != 0 && rep.Summary.Unhealthy > 0 {
				return &exitError{code: exitCode}
			}
			return nil
		},
	}
	srv.register(c)
	fl := c.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig `FILE` for the API checks (default $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context `NAME` (default the current one)")
	fl.StringVar(&clusterName, "cluster-name", "", "the cluster's name in the report (default the context's cluster name)")
	fl.BoolVar(&node, "node", false, "run the node checks (control plane, etcd, kubelet) on this node")
	fl.StringVar(&root, "root", "/", "`DIR` where the node's filesystem is mounted (e.g. /host for an agent in a container)")
	fl.StringVar(&procDir, "proc", "", "the node's /proc `DIR` (default ROOT/proc)")
	fl.StringVar(&nodeName, "node-name", "", "the node's name in the report (default the host name)")
	fl.StringVar(&targets, "targets", "", "comma-separated: master, etcd, controlplane, node, policies, cluster (default: the node targets with --node, the API ones otherwise or with --kubeconfig)")
	fl.StringVar(&checks, "checks", "", "only these check or section `IDS`, comma-separated (1.2,5.1.3)")
	fl.StringVar(&exclude, "exclude", "", "skip these check or section `IDS`, comma-separated")
	fl.StringVar(&profile, "profile", "generic", "generic, eks, gke or aks: on a managed service the provider-owned controls are not-applicable")
	fl.StringVar(&allowed, "allowed-ports", "80,443", "ports a Service exposed outside the cluster may use")
	fl.StringVarP(&format, "format", "f", "table", "output `FORMAT`: table, json, sarif, junit")
	fl.StringVarP(&output, "output", "o", "", "write the report to this `FILE` instead of stdout")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this `CODE` when any check fails (CI gate)")
	return c
}

// openCVEData opens the vulnerability DB when it holds the Kubernetes
// ecosystem; otherwise it says why not.
func openCVEData(cacheDir string) (*vulndb.DB, string) {
	dir := scan.DBDir(cacheDir)
	db, err := vulndb.Open(dir)
	if err != nil {
		return nil, fmt.Sprintf("no vulnerability DB at %s (%v): run `bulwark db update`", dir, err)
	}
	covered := false
	for _, eco := range k8sbench.KubeEcosystems {
		_, ok := db.Meta().Covers(eco)
		covered = covered || ok
	}
	if !covered {
		db.Close()
		return nil, fmt.Sprintf("the vulnerability DB at %s has no Kubernetes CVE feed: run `bulwark db update` with it", dir)
	}
	return db, ""
}

func parsePorts(s string) ([]int32, error) {
	var out []int32
	for _, p := range splitList(s) {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a port", p)
		}
		out = append(out, int32(n))
	}
	return out, nil
}
