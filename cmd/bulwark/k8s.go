package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/memtrim"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"

	"github.com/bulwarkdev/bulwark/internal/admission"
	"github.com/bulwarkdev/bulwark/internal/k8smanifest"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/spf13/cobra"
)

// newK8sCmds returns `scan k8s` (to add under the scan command) and
// `admission` with its `serve` and `manifests` subcommands (to add under
// the root).
func newK8sCmds(g *globalFlags) (scanK8s, admissionCmd *cobra.Command) {
	return newScanK8sCmd(g), newAdmissionCmd(g)
}

func newScanK8sCmd(g *globalFlags) *cobra.Command {
	var (
		format, output, policies, config string
		pssVersion, compare              string
		exitCode                         int
		srv                              serverFlags
	)
	c := &cobra.Command{
		Use:   "k8s PATH…",
		Short: "Check Kubernetes manifests (YAML, JSON, directories, - for stdin) against workload policies",
		Long: `Check Kubernetes manifests against the built-in policies (Pod Security Standards
baseline and restricted, Defender for Containers workload recommendations) and
your own. Files are multi-document YAML or JSON (Lists too), directories are
searched for .yaml, .yml and .json, "-" reads stdin (helm template … | bulwark scan k8s -).
--exit-code fails the run on enforce-mode violations; documents that cannot be
parsed are reported and make the run fail (exit 1) after the report is written.

--pss-version evaluates the Pod Security Standards as they stood at that
version (v1.0 … latest, as the pod-security.kubernetes.io/<mode>-version
labels name them). With --compare, the report is instead what changes for
each object between --pss-version and the --compare version: the violations
only one of them reports (--pss-version v1.30 --compare latest: what moving
a namespace's label from v1.30 to latest would newly deny).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := policy.ParsePSSVersion(pssVersion)
			if err != nil {
				return &usageError{fmt.Errorf("--pss-version: %w", err)}
			}
			var other policy.PSSVersion
			if compare != "" {
				if other, err = policy.ParsePSSVersion(compare); err != nil {
					return &usageError{fmt.Errorf("--compare: %w", err)}
				}
				if !slices.Contains(policyreport.CompareFormats(), format) {
					return &usageError{fmt.Errorf("--format %q with --compare: want one of %s", format, strings.Join(policyreport.CompareFormats(), ", "))}
				}
			} else if err := checkFormat(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := srv.client()
			if err != nil {
				return err
			}
			eng, err := newPolicyEngine(cmd, g, config, policy.WithPSSVersion(at))
			if err != nil {
				return err
			}
			selected, err := policyreport.Select(policies, eng.Policies())
			if err != nil {
				return &usageError{err}
			}
			docs, loadErr := k8smanifest.Load(ctx, args, cmd.InOrStdin())
			if loadErr != nil && len(docs) == 0 {
				// Nothing to evaluate: the load error is the whole answer,
				// said once (no empty report, no warning repeating it).
				return loadErr
			}
			if compare != "" {
				return compareK8s(cmd, g, eng, docs, loadErr, selected, at, other, format, output)
			}
			rep := policyreport.New(version, time.Now(), selected)
			rep.PSSVersion = resolvePSS(at).String()
			if loadErr != nil {
				// The report lists them ("not loaded:"); the exit status says so.
				for _, e := range unjoin(loadErr) {
					rep.LoadErrors = append(rep.LoadErrors, e.Error())
				}
			}
			for _, d := range docs {
				res, err := eng.Evaluate(ctx, d.Object)
				if err != nil {
					return fmt.Errorf("evaluate %s: %w", d.Source, err)
				}
				res.Source = d.Source
				rep.Add(res, policyreport.Resource(policyreport.ManifestCluster, res, map[string]string{"source": d.Source}))
			}
			if err := writeReport(cmd, rep, format, output); err != nil {
				return err
			}
			if err := srv.send(ctx, cmd.ErrOrStderr(), cl, ingest.KindK8sPolicy, rep); err != nil {
				return err
			}
			if len(rep.LoadErrors) > 0 {
				return fmt.Errorf("%d manifest file(s) or document(s) could not be loaded (listed in the report)", len(rep.LoadErrors))
			}
			return enforceGate(rep, exitCode)
		},
	}
	fl := c.Flags()
	srv.register(c)
	fl.StringVarP(&format, "format", "f", "table", "output `FORMAT`: table, json, sarif")
	fl.StringVarP(&output, "output", "o", "", "write the report to this `FILE` instead of stdout")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this `CODE` when any enforce-mode policy is violated (CI gate)")
	fl.StringVar(&policies, "policies", "all", "policies to check: all, pss-baseline, pss-restricted, defender, custom, or policy ids; comma-separated")
	fl.StringVar(&config, "config", "", "policy config `FILE` (YAML: modes, parameters, namespaces, exempt images, policy dirs)")
	fl.StringVar(&pssVersion, "pss-version", "latest", "Pod Security Standards version to evaluate: v1.0 … v1."+strconv.Itoa(int(policy.PSSLatestKnown()))+" or latest")
	fl.StringVar(&compare, "compare", "", "report what changes per object between --pss-version and this version (table or json)")
	return c
}

// resolvePSS is v with latest (and future versions) resolved.
func resolvePSS(v policy.PSSVersion) policy.PSSVersion {
	if v == policy.PSSLatest || v > policy.PSSLatestKnown() {
		return policy.PSSLatestKnown()
	}
	return v
}

// compareK8s is scan k8s --compare: every document at both versions.
func compareK8s(cmd *cobra.Command, g *globalFlags, eng *policy.Engine, docs []k8smanifest.Doc, loadErr error,
	selected []policy.Policy, from, to policy.PSSVersion, format, output string) error {
	ctx := cmd.Context()
	cmp := policyreport.NewComparison(version, time.Now(), from, to, selected)
	if loadErr != nil {
		for _, e := range unjoin(loadErr) {
			cmp.LoadErrors = append(cmp.LoadErrors, e.Error())
		}
	}
	for _, d := range docs {
		a, err := eng.EvaluateAt(ctx, d.Object, from)
		if err != nil {
			return fmt.Errorf("evaluate %s: %w", d.Source, err)
		}
		b, err := eng.EvaluateAt(ctx, d.Object, to)
		if err != nil {
			return fmt.Errorf("evaluate %s: %w", d.Source, err)
		}
		a.Source = d.Source
		cmp.Add(a, b)
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
	if err := policyreport.WriteComparison(w, cmp, format); err != nil {
		return fmt.Errorf("write %s comparison: %w", format, err)
	}
	if len(cmp.LoadErrors) > 0 {
		return fmt.Errorf("%d manifest file(s) or document(s) could not be loaded (listed in the comparison)", len(cmp.LoadErrors))
	}
	return nil
}

func checkFormat(format string) error {
	if !slices.Contains(policyreport.Formats(), format) {
		return &usageError{fmt.Errorf("--format %q: want one of %s", format, strings.Join(policyreport.Formats(), ", "))}
	}
	return nil
}

// writeReport writes rep to output, or stdout when output is empty.
func writeReport(cmd *cobra.Command, rep *policyreport.Report, format, output string) error {
	return writeOutput(cmd, output, format == "table", func(w io.Writer) error {
		if err := policyreport.Write(w, rep, format); err != nil {
			return fmt.Errorf("write %s report: %w", format, err)
		}
		return nil
	})
}

// enforceGate is the --exit-code gate: exit code when any enforce-mode
// policy is violated.
func enforceGate(rep *policyreport.Report, exitCode int) error {
	if exitCode != 0 && rep.Summary.Enforce > 0 {
		return &exitError{code: exitCode, msg: fmt.Sprintf("%d enforce-mode violation(s)", rep.Summary.Enforce)}
	}
	return nil
}

// k8sLogger returns the logger set by the root command, or a discarding one.
func k8sLogger(g *globalFlags) *slog.Logger {
	if g.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.logger
}

func newPolicyEngine(cmd *cobra.Command, g *globalFlags, configPath string, opts ...policy.Option) (*policy.Engine, error) {
	cfg, err := loadPolicyConfig(configPath)
	if err != nil {
		return nil, err
	}
	eng, err := policy.New(cmd.Context(), cfg, append([]policy.Option{policy.WithLogger(k8sLogger(g))}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	return eng, nil
}

func loadPolicyConfig(path string) (*policy.Config, error) {
	if path == "" {
		return policy.DefaultConfig(), nil
	}
	c, err := policy.LoadConfig(path)
	if err != nil {
		return nil, &usageError{err}
	}
	return c, nil
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

// tuneWebhookGC trades memory for CPU in the webhook, unless GOGC or
// GOMEMLIMIT say otherwise: its live heap is small (the compiled policies)
// and every review allocates ~100 KB of short-lived Rego values, so at
// GOGC=100 the collector ran every few dozen reviews (a fifth of the CPU
// per review in BenchmarkServeHTTP). The soft limit keeps the heap well
// under the 256Mi limit of the manifests' Deployment.
func tuneWebhookGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

func newAdmissionCmd(g *globalFlags) *cobra.Command {
	a := &cobra.Command{Use: "admission", Short: "The Kubernetes validating admission webhook"}
	var (
		addr, cert, key, config            string
		failOpen, http2                    bool
		exempt                             []string
		timeout, drain, shut               time.Duration
		podSecurityLabels                  bool
		kubeconfig, kubeContext            string
		server, token, tokenFile, serverCA string
		unknown                            string
		verdictTTL, configInterval         time.Duration
	)
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the validating admission webhook over TLS (/validate, /healthz, /readyz, /metrics)",
		Long: `Serve the validating admission webhook over TLS (/validate, /healthz, /readyz, /metrics).

Unless GOGC or GOMEMLIMIT is set, the server runs with GOGC=400 and a soft
memory limit of 160 MiB: fewer garbage collections per review, and the heap
stays under the 256Mi memory limit of the generated Deployment.

With --pod-security-labels (as the generated Deployment runs it), the webhook
watches the cluster's namespaces (list and watch on namespaces) and applies
each namespace's pod-security.kubernetes.io/<mode> and <mode>-version labels
to the Pod Security Standards policies as the API server's PodSecurity
admission does: enforce denies, warn returns warnings, audit annotates, each
at its level and version. The config's pod_security.namespaces overrides
them per namespace. Namespaces without the labels keep the policies'
configured modes.

With --server (and a token of read scope: --token, --token-file or
$BULWARK_TOKEN), the webhook takes two things from the Bulwark server:
- its policy config (GET /api/v1/config/policies), loaded at start, polled
  every --config-interval and put in force without a restart; the last good
  copy is kept under the cache directory (admission/policies.json) and used
  when the server is unreachable at start (else --config, else the
  defaults). A version the policy parser refuses is never put in force.
- the image verdicts that feed BW-K8S-IMAGE-VULNS, from an in-memory cache
  (at most 10,000 images, fresh for --verdict-ttl): a review never waits for
  the server. An image without a verdict (not scanned, not fetched yet, or
  the server unreachable and none held) is decided by --image-vulns-unknown:
  warn (admit with a warning; default), deny, or allow; its verdict is
  fetched in the background for the next review. Verdicts held are kept
  while the server is unreachable.

On SIGTERM /readyz fails at once; the server goes on serving for
--drain-delay (closing each connection after its response), then closes its
listener and lets the reviews in flight finish on their own deadline (the API
server's timeoutSeconds) within --shutdown-timeout. A panic in a policy
evaluation answers that review as a failure (denied, or admitted with
--fail-open), is logged with its stack and counted in /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cert == "" || key == "" {
				return &usageError{errors.New("--cert and --key are required")}
			}
			if timeout <= 0 || timeout >= 10*time.Second {
				return &usageError{fmt.Errorf("--timeout %s: want more than 0 and less than the API server's 10s", timeout)}
			}
			if shut <= timeout {
				return &usageError{fmt.Errorf("--shutdown-timeout %s: want more than --timeout %s, so reviews in flight can finish", shut, timeout)}
			}
			if drain < 0 {
				return &usageError{fmt.Errorf("--drain-delay %s: want 0 or more", drain)}
			}
			if drain == 0 {
				drain = -1 // none (the option's zero is the default)
			}
			ua, err := admission.ParseUnknownAction(unknown)
			if err != nil {
				return &usageError{fmt.Errorf("--image-vulns-unknown %w", err)}
			}
			ctx := cmd.Context()
			log := k8sLogger(g)
			var (
				engOpts []policy.Option
				rc      *remoteconfig.Watcher
				cfg     *policy.Config
				metrics *admission.Metrics
			)
			if server != "" {
				tok, err := client.TokenFrom(token, tokenFile)
				if err != nil {
					return &usageError{err}
				}
				cl, err := client.New(server, tok, client.Options{CAFile: serverCA, UserAgent: "bulwark-admission/" + version, Timeout: 10 * time.Second})
				if err != nil {
					return &usageError{err}
				}
				verdicts := admission.NewVerdictCache(admission.VerdictCacheOptions{Source: cl, TTL: verdictTTL, Logger: log})
				go verdicts.Run(ctx)
				metrics = admission.NewMetrics()
				metrics.SetVerdictCache(verdicts)
				engOpts = append(engOpts, policy.WithImageVerdicts(verdicts.Lookup))
				cacheFile := ""
				if g.cacheDir != "" {
					cacheFile = filepath.Join(g.cacheDir, "admission", "policies.json")
					if err := os.MkdirAll(filepath.Dir(cacheFile), 0o700); err != nil {
						log.Warn("no directory for the policy config's cached copy", "err", err)
					}
				}
				rc, err = remoteconfig.New(remoteconfig.Options{Source: cl, Name: "policies", CacheFile: cacheFile, Interval: configInterval, Logger: log,
					Validate: func(b []byte) error { _, err := policy.ParseServerConfig(b); return err }})
				if err != nil {
					return err
				}
				if d, err := rc.Load(ctx); err == nil {
					cfg, _ = policy.ParseServerConfig([]byte(d.Body))
					log.Info("policy config from the server", "version", d.Version, "from_cache", d.FromCache)
				} else {
					fallback := "the default policy config"
					if config != "" {
						fallback = config
					}
					log.Error("no policy config from the server nor a cached copy: starting with "+fallback+" until the server answers", "err", err)
				}
			}
			if cfg == nil {
				if cfg, err = loadPolicyConfig(config); err != nil {
					return err
				}
			}
			first, err := policy.New(ctx, cfg, append([]policy.Option{policy.WithLogger(log)}, engOpts...)...)
			if err != nil {
				return fmt.Errorf("load policies: %w", err)
			}
			eng := admission.NewEngine(first)
			ho := admission.HandlerOptions{Evaluator: eng, ExemptNamespaces: exempt, Timeout: timeout, FailOpen: failOpen, Logger: log, ImageVulnsUnknown: ua, Metrics: metrics}
			var nsc *admission.NamespaceCache
			if podSecurityLabels {
				rc, err := admission.RESTConfig(kubeconfig, kubeContext)
				if err != nil {
					return err
				}
				nsc = admission.NewNamespaceCache(eng, log)
				if err := nsc.Watch(ctx, rc, 30*time.Second); err != nil {
					return err
				}
				ho.Namespaces = nsc
			}
			if rc != nil {
				go rc.Run(ctx, func(ctx context.Context, d remoteconfig.Doc) error {
					cfg, err := policy.ParseServerConfig([]byte(d.Body))
					if err != nil {
						return err
					}
					next, err := policy.New(ctx, cfg, append([]policy.Option{policy.WithLogger(log)}, engOpts...)...)
					if err != nil {
						return fmt.Errorf("load policies: %w", err)
					}
					eng.Swap(next)
					if nsc != nil {
						nsc.Resync()
					}
					return nil
				})
			}
			tuneWebhookGC()
			// A long-running webhook: what start-up mapped goes back once it serves.
			trim := memtrim.NewReleaser(log, 0, 0)
			trim.Soon()
			defer trim.Stop()
			return admission.Serve(cmd.Context(), admission.Options{
				Addr: addr, CertFile: cert, KeyFile: key, HTTP2: http2, DrainDelay: drain, ShutdownTimeout: shut, Handler: ho,
			})
		},
	}
	fl := serve.Flags()
	fl.StringVar(&addr, "addr", ":8443", "listen address")
	fl.StringVar(&cert, "cert", "", "TLS certificate `FILE` (PEM), reloaded when the file changes")
	fl.StringVar(&key, "key", "", "TLS private key `FILE` (PEM), reloaded when the file changes")
	fl.StringVar(&config, "config", "", "policy config `FILE` (YAML)")
	fl.BoolVar(&failOpen, "fail-open", false, "admit (with a warning) when evaluation times out or fails; default deny")
	fl.StringSliceVar(&exempt, "exempt-namespace", []string{"kube-system"}, "namespaces admitted without evaluation (repeatable)")
	fl.DurationVar(&timeout, "timeout", admission.DefaultTimeout, "per-request evaluation timeout")
	fl.BoolVar(&podSecurityLabels, "pod-security-labels", false, "apply namespaces' pod-security.kubernetes.io labels (watches namespaces)")
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig `FILE` for the namespace watch (default $KUBECONFIG, ~/.kube/config, then the pod's service account)")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context for the namespace watch")
	fl.DurationVar(&drain, "drain-delay", admission.DefaultDrainDelay, "on SIGTERM, serve this long with /readyz failing before closing the listener (0: none)")
	fl.DurationVar(&shut, "shutdown-timeout", 10*time.Second, "on SIGTERM, after the drain delay, wait this long at most for reviews in flight")
	fl.StringVar(&server, "server", "", "Bulwark server `URL`: policy config and image verdicts from it (token of read scope)")
	fl.StringVar(&token, "token", "", "API `TOKEN` for --server (or --token-file, or $BULWARK_TOKEN)")
	fl.StringVar(&tokenFile, "token-file", "", "`FILE` holding the API token for --server")
	fl.StringVar(&serverCA, "server-ca", "", "CA certificate `FILE` (PEM) to trust for --server")
	fl.StringVar(&unknown, "image-vulns-unknown", string(admission.UnknownWarn), "with --server, the `ACTION` for an image without a vulnerability verdict (unknown to the server, or the server unreachable): allow, warn or deny")
	fl.DurationVar(&verdictTTL, "verdict-ttl", 5*time.Minute, "with --server, how long an image verdict is fresh (an older one is still used while it is fetched again)")
	fl.DurationVar(&configInterval, "config-interval", 30*time.Second, "with --server, how often the policy config is polled")
	fl.BoolVar(&http2, "http2", false, "also offer HTTP/2 (off by default, as in controller-runtime webhooks since the HTTP/2 rapid-reset attacks; HTTP/1.1 costs less per review)")

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
				return &usageError{err}
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
	mf.StringVar(&mo.Server, "server", "", "Bulwark server `URL` (https) the webhook takes its policy config and image verdicts from (BW-K8S-IMAGE-VULNS)")
	mf.StringVar(&mo.TokenSecret, "token-secret", "", "with --server: Secret whose key token is the webhook's API token, scope read (default bulwark-admission-token)")
	mf.StringVar(&mo.ServerCAConfigMap, "server-ca-configmap", "", "with --server: ConfigMap whose key ca.crt is the CA to trust for the server")
	a.AddCommand(serve, manifests)
	return a
}
