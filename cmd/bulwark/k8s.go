package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/admission"
	"github.com/bulwarkdev/bulwark/internal/k8smanifest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/spf13/cobra"
)

// newK8sCmds returns `scan k8s` (to add under the scan command) and
// `admission` with its `serve` and `manifests` subcommands (to add under
// the root).
func newK8sCmds(g *globalFlags) (scanK8s, admissionCmd *cobra.Command) {
	return newScanK8sCmd(g), newAdmissionCmd(g)
}

var k8sFormats = []string{"table", "json", "sarif"}

func newScanK8sCmd(g *globalFlags) *cobra.Command {
	var (
		format, output, policies, config string
		exitCode                         int
	)
	c := &cobra.Command{
		Use:   "k8s PATH…",
		Short: "Check Kubernetes manifests (YAML, JSON, directories, - for stdin) against workload policies",
		Long: `Check Kubernetes manifests against the built-in policies (Pod Security Standards
baseline and restricted, Defender for Containers workload recommendations) and
your own. Files are multi-document YAML or JSON (Lists too), directories are
searched for .yaml, .yml and .json, "-" reads stdin (helm template … | bulwark scan k8s -).
--exit-code fails the run on enforce-mode violations; documents that cannot be
parsed are reported and make the run fail (exit 1) after the report is written.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(k8sFormats, format) {
				return &usageError{fmt.Errorf("--format %q: want one of %s", format, strings.Join(k8sFormats, ", "))}
			}
			ctx := cmd.Context()
			eng, err := newPolicyEngine(cmd, g, config)
			if err != nil {
				return err
			}
			selected, err := selectPolicies(policies, eng.Policies())
			if err != nil {
				return &usageError{err}
			}
			docs, loadErr := k8smanifest.Load(ctx, args, cmd.InOrStdin())
			var loadErrs []string
			if loadErr != nil {
				for _, e := range unjoin(loadErr) {
					k8sLogger(g).WarnContext(ctx, "manifest not loaded", "err", e)
					loadErrs = append(loadErrs, e.Error())
				}
			}
			rep := k8sReport{Tool: "bulwark", Version: version, Results: []policy.Result{}, LoadErrors: loadErrs}
			for _, p := range eng.Policies() {
				if selected[p.ID] {
					rep.Policies = append(rep.Policies, p)
				}
			}
			for _, d := range docs {
				res, err := eng.Evaluate(ctx, d.Object)
				if err != nil {
					return fmt.Errorf("evaluate %s: %w", d.Source, err)
				}
				res.Source = d.Source
				vs := res.Violations[:0]
				for _, v := range res.Violations {
					if selected[v.PolicyID] {
						vs = append(vs, v)
					}
				}
				res.Violations = vs
				rep.add(res)
			}
			var w io.Writer = cmd.OutOrStdout()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return fmt.Errorf("create output: %w", err)
				}
				defer f.Close()
				w = f
			}
			if err := rep.write(w, format); err != nil {
				return fmt.Errorf("write %s report: %w", format, err)
			}
			if len(loadErrs) > 0 {
				return fmt.Errorf("%d manifest file(s) or document(s) could not be loaded (see the warnings)", len(loadErrs))
			}
			if exitCode != 0 && rep.Summary.Enforce > 0 {
				return &exitError{code: exitCode, msg: fmt.Sprintf("%d enforce-mode violation(s)", rep.Summary.Enforce)}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&format, "format", "f", "table", "output format: table, json, sarif")
	fl.StringVarP(&output, "output", "o", "", "write the report to this file instead of stdout")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this code when any enforce-mode policy is violated (CI gate)")
	fl.StringVar(&policies, "policies", "all", "policies to check: all, pss-baseline, pss-restricted, defender, custom, or policy ids; comma-separated")
	fl.StringVar(&config, "config", "", "policy config YAML (modes, parameters, namespaces, exempt images, policy dirs)")
	return c
}

// k8sLogger returns the logger set by the root command, or a discarding one.
func k8sLogger(g *globalFlags) *slog.Logger {
	if g.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.logger
}

func newPolicyEngine(cmd *cobra.Command, g *globalFlags, configPath string) (*policy.Engine, error) {
	cfg := policy.DefaultConfig()
	if configPath != "" {
		c, err := policy.LoadConfig(configPath)
		if err != nil {
			return nil, &usageError{err}
		}
		cfg = c
	}
	eng, err := policy.New(cmd.Context(), cfg, policy.WithLogger(k8sLogger(g)))
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	return eng, nil
}

// selectPolicies resolves --policies (sets and ids, comma-separated) to
// the ids to report.
func selectPolicies(spec string, pols []policy.Policy) (map[string]bool, error) {
	out := map[string]bool{}
	ids := map[string]bool{}
	for _, p := range pols {
		ids[p.ID] = true
	}
	items := splitList(spec)
	if len(items) == 0 {
		items = []string{"all"}
	}
	for _, it := range items {
		switch {
		case it == "all":
			for id := range ids {
				out[id] = true
			}
		case slices.Contains(policy.KnownSets(), it):
			for _, p := range pols {
				if slices.Contains(p.Sets, it) {
					out[p.ID] = true
				}
			}
		case ids[it]:
			out[it] = true
		default:
			return nil, fmt.Errorf("--policies: %q is neither a set (all, %s) nor a loaded policy id", it, strings.Join(policy.KnownSets(), ", "))
		}
	}
	return out, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// k8sReport is the `scan k8s` result.
type k8sReport struct {
	Tool       string          `json:"tool"`
	Version    string          `json:"version"`
	Policies   []policy.Policy `json:"policies"`
	Results    []policy.Result `json:"results"`
	Summary    k8sSummary      `json:"summary"`
	LoadErrors []string        `json:"load_errors,omitempty"`
}

type k8sSummary struct {
	Objects    int `json:"objects"`
	Excluded   int `json:"excluded"`
	Violations int `json:"violations"`
	Enforce    int `json:"enforce"`
	Audit      int `json:"audit"`
}

func (r *k8sReport) add(res policy.Result) {
	r.Results = append(r.Results, res)
	r.Summary.Objects++
	if res.Excluded != "" {
		r.Summary.Excluded++
	}
	for _, v := range res.Violations {
		r.Summary.Violations++
		if v.Mode == policy.ModeAudit {
			r.Summary.Audit++
		} else {
			r.Summary.Enforce++
		}
	}
}

func (r *k8sReport) write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "sarif":
		return r.writeSARIF(w)
	default:
		return r.writeTable(w)
	}
}

func objectRef(res policy.Result) string {
	n := res.Name
	if res.Namespace != "" {
		n = res.Namespace + "/" + n
	}
	return res.Kind + " " + n
}

func (r *k8sReport) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tOBJECT\tPOLICY\tSEVERITY\tMODE\tMESSAGE")
	for _, res := range r.Results {
		for _, v := range res.Violations {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", res.Source, objectRef(res), v.PolicyID, v.Severity, v.Mode, strings.ReplaceAll(v.Message, "\t", " "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d object(s), %d excluded; %d violation(s): %d enforce, %d audit; %d policies checked\n",
		s.Objects, s.Excluded, s.Violations, s.Enforce, s.Audit, len(r.Policies))
	return err
}

// SARIF 2.1.0, the subset code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  sarifText      `json:"fullDescription"`
	Help             sarifText      `json:"help"`
	Properties       map[string]any `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation struct {
		URI string `json:"uri"`
	} `json:"artifactLocation"`
	Region *struct {
		StartLine int `json:"startLine"`
	} `json:"region,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevelFor(s model.Severity) string {
	switch s {
	case model.SeverityCritical, model.SeverityHigh:
		return "error"
	case model.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// sourceFile turns "path:docN[…]" back into the path.
func sourceFile(src string) string {
	if i := strings.LastIndex(src, ":doc"); i >= 0 {
		return src[:i]
	}
	return src
}

func (r *k8sReport) writeSARIF(w io.Writer) error {
	pols := append([]policy.Policy(nil), r.Policies...)
	sort.Slice(pols, func(i, j int) bool { return pols[i].ID < pols[j].ID })
	index := map[string]int{}
	drv := sarifDriver{Name: "bulwark", Version: r.Version, InformationURI: "https://github.com/bulwarkdev/bulwark", Rules: []sarifRule{}}
	for i, p := range pols {
		index[p.ID] = i
		props := map[string]any{"severity": p.Severity, "mode": p.Mode, "tags": p.Sets}
		if p.PSSControl != "" {
			props["pss_control"] = p.PSSControl
		}
		drv.Rules = append(drv.Rules, sarifRule{ID: p.ID, Name: p.Title, ShortDescription: sarifText{p.Title},
			FullDescription: sarifText{p.Description}, Help: sarifText{p.Remediation}, Properties: props})
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}}
	for _, res := range r.Results {
		for _, v := range res.Violations {
			loc := sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: objectRef(res) + pathSuffix(v.Path), Kind: "object"}}}
			loc.PhysicalLocation.ArtifactLocation.URI = sourceFile(res.Source)
			msg := v.Message
			if v.Remediation != "" {
				msg += " Fix: " + v.Remediation
			}
			run.Results = append(run.Results, sarifResult{RuleID: v.PolicyID, RuleIndex: index[v.PolicyID], Level: sarifLevelFor(v.Severity),
				Message: sarifText{msg}, Locations: []sarifLocation{loc}})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func pathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " " + p
}

func newAdmissionCmd(g *globalFlags) *cobra.Command {
	a := &cobra.Command{Use: "admission", Short: "The Kubernetes validating admission webhook"}
	var (
		addr, cert, key, config string
		failOpen                bool
		exempt                  []string
		timeout                 time.Duration
	)
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the validating admission webhook over TLS (/validate, /healthz, /readyz, /metrics)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cert == "" || key == "" {
				return &usageError{errors.New("--cert and --key are required")}
			}
			if timeout <= 0 || timeout >= 10*time.Second {
				return &usageError{fmt.Errorf("--timeout %s: want more than 0 and less than the API server's 10s", timeout)}
			}
			eng, err := newPolicyEngine(cmd, g, config)
			if err != nil {
				return err
			}
			return admission.Serve(cmd.Context(), admission.Options{
				Addr: addr, CertFile: cert, KeyFile: key,
				Handler: admission.HandlerOptions{Evaluator: eng, ExemptNamespaces: exempt, Timeout: timeout, FailOpen: failOpen, Logger: k8sLogger(g)},
			})
		},
	}
	fl := serve.Flags()
	fl.StringVar(&addr, "addr", ":8443", "listen address")
	fl.StringVar(&cert, "cert", "", "TLS certificate (PEM), reloaded when the file changes")
	fl.StringVar(&key, "key", "", "TLS private key (PEM), reloaded when the file changes")
	fl.StringVar(&config, "config", "", "policy config YAML")
	fl.BoolVar(&failOpen, "fail-open", false, "admit (with a warning) when evaluation times out or fails; default deny")
	fl.StringSliceVar(&exempt, "exempt-namespace", []string{"kube-system"}, "namespaces admitted without evaluation (repeatable)")
	fl.DurationVar(&timeout, "timeout", admission.DefaultTimeout, "per-request evaluation timeout")

	var (
		mo       admission.ManifestOptions
		caBundle string
	)
	manifests := &cobra.Command{
		Use:   "manifests",
		Short: "Print the YAML that installs the webhook (ValidatingWebhookConfiguration, Service, Deployment, PDB, RBAC)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mo.Validate(); err != nil {
				return &usageError{fmt.Errorf("--failure-policy: %w", err)}
			}
			if caBundle != "" {
				b, err := os.ReadFile(caBundle)
				if err != nil {
					return &usageError{fmt.Errorf("--ca-bundle: %w", err)}
				}
				if !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
					return &usageError{fmt.Errorf("--ca-bundle %s: no PEM certificate", caBundle)}
				}
				mo.CABundle = b
			}
			_, err := io.WriteString(cmd.OutOrStdout(), admission.Manifests(mo))
			return err
		},
	}
	mf := manifests.Flags()
	mf.StringVar(&mo.Namespace, "namespace", "bulwark-system", "namespace of the webhook's objects")
	mf.StringVar(&mo.FailurePolicy, "failure-policy", "Fail", "what the API server does when the webhook cannot answer: Fail or Ignore")
	mf.StringVar(&mo.Image, "image", "ghcr.io/bulwarkdev/bulwark:"+version, "webhook image (pin it by digest)")
	mf.StringVar(&caBundle, "ca-bundle", "", "PEM file of the CA that signed the webhook's serving certificate")
	a.AddCommand(serve, manifests)
	return a
}
