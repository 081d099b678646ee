package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// newAgentCmd is `bulwark agent`: the engines run continuously and report
// to the server.
func newAgentCmd(g *globalFlags) *cobra.Command {
	c := &cobra.Command{Use: "agent", Short: "Run continuously on a Docker host, for a cluster or on its nodes and report to a Bulwark server"}
	c.AddCommand(newAgentDockerCmd(g), newAgentClusterCmd(g), newAgentNodeCmd(g))
	return c
}

type agentFlags struct {
	srv       serverFlags
	stateDir  string
	name      string
	heartbeat time.Duration
	maxOutbox int64
	// configInterval: how often the server's engine configuration is
	// polled; noServerConfig: use the local one only.
	configInterval time.Duration
	noServerConfig bool
}

func (f *agentFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.srv.server, "server", "", "the Bulwark server (https://host:port)")
	fl.StringVar(&f.srv.token, "token", "", "enrolment token (scope enroll) for the first start, or $BULWARK_TOKEN / --token-file")
	fl.StringVar(&f.srv.tokenFile, "token-file", "", "file holding the enrolment token")
	fl.StringVar(&f.srv.ca, "server-ca", "", "CA certificate (PEM) to trust for --server")
	fl.StringVar(&f.stateDir, "state-dir", "", "the agent's credential and outbox (default: the cache directory/agent)")
	fl.StringVar(&f.name, "name", "", "the name the agent enrols under (default: the host name)")
	fl.DurationVar(&f.heartbeat, "heartbeat", time.Minute, "how often the agent calls in (the server marks it silent after three missed)")
	fl.Int64Var(&f.maxOutbox, "max-outbox", 256<<20, "bytes of reports and alerts kept on disk while the server is unreachable; beyond it the oldest are dropped and counted")
	fl.DurationVar(&f.configInterval, "config-interval", 30*time.Second, "how often the server's engine configuration (run-time exceptions; the cluster agent: policy config and image verdicts) is polled")
	fl.BoolVar(&f.noServerConfig, "no-server-config", false, "use only the local configuration: do not pull the server's run-time exceptions (docker, node) or policy config (cluster)")
}

// exceptions follows the server's run-time exceptions for the agent's
// watch (its last good copy in the state directory), unless
// --no-server-config.
func (f *agentFlags) exceptions(conn *agent.Conn) (*remoteconfig.Watcher, error) {
	if f.noServerConfig {
		return nil, nil
	}
	return conn.RuntimeExceptions(f.configInterval)
}

func (f *agentFlags) connect(cmd *cobra.Command, g *globalFlags, kind string, log *slog.Logger) (*agent.Conn, error) {
	if f.srv.server == "" {
		return nil, &usageError{errors.New("agent needs --server")}
	}
	tok, _ := client.TokenFrom(f.srv.token, f.srv.tokenFile) // none: a stored credential must exist
	dir := f.stateDir
	if dir == "" {
		dir = filepath.Join(g.cacheDir, "agent", kind)
	}
	name := f.name
	if name == "" {
		name, _ = os.Hostname()
	}
	return agent.Connect(cmd.Context(), agent.Options{Server: f.srv.server, CAFile: f.srv.ca, Token: tok, StateDir: dir,
		Kind: kind, Name: name, Version: version, Heartbeat: f.heartbeat, MaxOutboxBytes: f.maxOutbox, Logger: log})
}

func newAgentDockerCmd(g *globalFlags) *cobra.Command {
	var (
		af                      agentFlags
		rf                      runtimeFlags
		host, root, auditdLog   string
		benchInterval, window   time.Duration
		noRuntime, ebpfOn, proc bool
		hostScanInterval        time.Duration
		noHostScan              bool
	)
	c := &cobra.Command{
		Use:   "docker",
		Short: "Assess this Docker host continuously: CIS Docker, local image inventories, run-time alerts",
		Long: `Runs on a Docker host (a systemd unit, or a container with the host's / at
--host-root and the engine socket) until SIGINT or SIGTERM. At start and after every
engine (re)connection it sends the CIS Docker assessment and the package
inventory of every local image and of the host's own OS packages (read from
--host-root; the server matches them); then it re-assesses
every --bench-interval and after engine events that change the result (a
container started or removed, the daemon reloaded), and sends each new image's
inventory seconds after a pull, import, load or build. The run-time watch
(Docker events, and --ebpf/--proc, --auditd) streams alerts.

Reports and alerts go through an outbox on disk (--max-outbox bytes): a server
outage loses nothing, and a full outbox drops the oldest documents, counted in
the agent's health. The first start enrols with an enrolment token
(bulwark token create --scope enroll --expires 1h --resource docker-host/NAME);
the credential it gets is kept in --state-dir and rotated before it expires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := g.logger
			if fl := cmd.Flag("log-level"); fl != nil && !fl.Changed {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			if ebpfOn && proc {
				return &usageError{errors.New("--ebpf and --proc: choose one")}
			}
			conn, err := af.connect(cmd, g, "docker", log)
			if err != nil {
				return err
			}
			defer conn.Close()
			o := agent.DockerOptions{Host: host, Root: root, BenchInterval: benchInterval, CacheDir: g.cacheDir, Window: window,
				HostScanInterval: hostScanInterval, NoHostScan: noHostScan, Version: version, Logger: log}
			if !noRuntime {
				ropts := rf.options(g)
				ropts.Logger = log
				eng, err := runtime.New(cmd.Context(), ropts)
				if err != nil {
					return err
				}
				o.Engine = eng
				o.Sources = watch.SourceConfig{EBPF: ebpfOn, Proc: proc, Auditd: auditdLog, CheckpointDir: filepath.Join(g.cacheDir, "agent", "docker", "runtime")}
				if o.Exceptions, err = af.exceptions(conn); err != nil {
					return err
				}
			}
			log.Info("docker agent started", "agent", conn.AgentID(), "server", af.srv.server, "version", version)
			if err := agent.RunDocker(cmd.Context(), conn, o); err != nil {
				return fmt.Errorf("docker agent: %w", err)
			}
			log.Info("docker agent stopped")
			return nil
		},
	}
	af.register(c)
	rf.register(c)
	fl := c.Flags()
	fl.StringVar(&host, "host", "", "Docker engine address (default $DOCKER_HOST or the local socket)")
	fl.StringVar(&root, "host-root", "/", "`DIR` where the host's / is mounted: / on the host, /host for an agent in a container")
	fl.StringVar(&root, "root", "/", "`DIR`: the same as --host-root")
	fl.DurationVar(&hostScanInterval, "host-scan-interval", 10*time.Minute, "look at the host's package databases this often; its OS package inventory is sent at start and when they changed")
	fl.BoolVar(&noHostScan, "no-host-scan", false, "do not send the host's own OS package inventory")
	fl.DurationVar(&benchInterval, "bench-interval", time.Hour, "re-run the CIS Docker assessment this often (besides the engine events that change it)")
	fl.DurationVar(&window, "window", 10*time.Minute, "aggregation window of run-time alerts")
	fl.BoolVar(&noRuntime, "no-runtime", false, "do not run the run-time watch")
	fl.BoolVar(&ebpfOn, "ebpf", false, "also run the eBPF node sensor (falls back to /proc scanning)")
	fl.BoolVar(&proc, "proc", false, "also scan /proc for new processes and connections")
	fl.StringVar(&auditdLog, "auditd", "", "also follow this Linux audit log")
	return c
}

func newAgentClusterCmd(g *globalFlags) *cobra.Command {
	var (
		af                                    agentFlags
		rf                                    runtimeFlags
		audit                                 auditWebhookFlags
		kubeconfig, kctx, clusterName, config string
		settle, resync, verdictInterval       time.Duration
		memLimit                              int64
	)
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Keep the server's picture of a cluster current: workloads, pods, running images and their policy results",
		Long: `Runs in a cluster (a Deployment with a read-only service account) or from
outside it (--kubeconfig) until SIGINT or SIGTERM. Informers watch namespaces
and every kind audit k8s evaluates (no polling). Once they sync, the whole
cluster is sent (a full resync, in chunks); then, once changes settle
(--settle), only the changed objects are re-evaluated and those whose content
differs are sent, with the objects that are gone. Each workload carries the
image digests its pods run (the kubelet's imageID). A watch that expires (410
Gone) or an API server restart relists and resyncs; --resync re-sends
everything on an interval. The cluster is named by its kube-system namespace's
UID, as audit k8s names it; its nodes are inventoried under the node agent's id
for them (CLUSTER-ID/NODE) with the API's facts.

The policies are the server's policy config (polled every --config-interval;
a new version re-evaluates every object; the last good copy in --state-dir),
else --config. BW-K8S-IMAGE-VULNS judges the images the workloads run with the
server's verdicts (asked in batches, refreshed every --verdict-interval and when
the server's vulnerability DB changes). With --audit-webhook the agent is also
the API server's audit webhook backend (the flags of runtime watch): its
run-time alerts go to the server through the same outbox.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := g.logger
			if fl := cmd.Flag("log-level"); fl != nil && !fl.Changed {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			// A re-evaluation allocates far more than it keeps: a soft
			// limit makes the collector run before the heap doubles.
			// GOMEMLIMIT in the environment wins.
			if memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(memLimit << 20)
			}
			wh, err := audit.options()
			if err != nil {
				return err
			}
			cfg, err := loadPolicyConfig(config)
			if err != nil {
				return err
			}
			cl, err := clusterscan.Connect(clusterscan.ConnectOptions{Kubeconfig: kubeconfig, Context: kctx})
			if err != nil {
				return &usageError{err}
			}
			if clusterName != "" {
				cl.Name = clusterName
			}
			if af.name == "" {
				af.name = cl.Name
			}
			conn, err := af.connect(cmd, g, "cluster", log)
			if err != nil {
				return err
			}
			defer conn.Close()
			co := agent.ClusterOptions{Cluster: cl, Config: cfg, Verdicts: conn.Client(), VerdictInterval: verdictInterval,
				Settle: settle, Resync: resync, Version: version, Logger: log}
			if !af.noServerConfig {
				if co.Policies, err = conn.PolicyConfigWatcher(af.configInterval); err != nil {
					return err
				}
			}
			log.Info("cluster agent started", "agent", conn.AgentID(), "cluster", cl.Name, "server", af.srv.server, "version", version)
			agent.RouteClientLogs(log)
			g2, ctx := errgroup.WithContext(cmd.Context())
			if wh != nil {
				// The API server's audit webhook: run-time alerts about the
				// cluster's objects, named as its inventory names them.
				ropts := rf.options(g)
				ropts.Logger = log
				reng, err := runtime.New(cmd.Context(), ropts)
				if err != nil {
					return err
				}
				// Audit events are stamped with the cluster's id (its
				// kube-system UID), so alerts name objects as the inventory.
				clusterID, err := cl.ID(cmd.Context())
				if err != nil {
					return fmt.Errorf("the cluster's id for the audit webhook: %w", err)
				}
				exc, err := af.exceptions(conn)
				if err != nil {
					return err
				}
				g2.Go(func() error {
					return agent.RunAlerts(ctx, conn, agent.AlertOptions{Engine: reng, Exceptions: exc, Name: "cluster agent audit webhook", Logger: log,
						Sources: watch.SourceConfig{AuditWebhook: wh, Cluster: clusterID}})
				})
			}
			g2.Go(func() error {
				return agent.RunCluster(ctx, conn, co)
			})
			if err := g2.Wait(); err != nil && !errors.Is(err, cmd.Context().Err()) {
				return err
			}
			log.Info("cluster agent stopped")
			return nil
		},
	}
	af.register(c)
	fl := c.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)")
	fl.StringVar(&kctx, "context", "", "kubeconfig context (default: the current context)")
	fl.StringVar(&clusterName, "cluster-name", "", "the cluster's display name (default: the kubeconfig context's cluster name)")
	fl.StringVar(&config, "config", "", "policy config YAML, as for audit k8s: used when the server has none to give nor a cached copy, or with --no-server-config")
	fl.DurationVar(&verdictInterval, "verdict-interval", 10*time.Minute, "ask the server again for every running image's vulnerability verdict this often (BW-K8S-IMAGE-VULNS; unknown images every minute, all when the server's DB changes)")
	fl.DurationVar(&settle, "settle", 2*time.Second, "wait this long after a change for more before re-evaluating")
	fl.DurationVar(&resync, "resync", time.Hour, "re-send the whole state this often even without changes")
	rf.register(c)
	audit.register(fl)
	fl.Int64Var(&memLimit, "memory-limit", 120, "soft memory limit in MiB (the Go collector works harder near it; 0: none; $GOMEMLIMIT wins)")
	return c
}
