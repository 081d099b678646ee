package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

func newAgentNodeCmd(g *globalFlags) *cobra.Command {
	var (
		af                                          agentFlags
		rf                                          runtimeFlags
		clusterID, clusterName, kubeconfig, nodeArg string
		root, proc, sensor, auditdLog               string
		targets                                     []string
		benchInterval, window, procInterval         time.Duration
	)
	c := &cobra.Command{
		Use:   "node",
		Short: "Assess this Kubernetes node continuously: CIS node checks, eBPF or /proc and auditd run-time alerts",
		Long: `Runs on each node of a cluster (the DaemonSet of "bulwark deploy manifests",
with the host's / at --root and the host's PID namespace, or a host process)
until SIGINT or SIGTERM. It reports the node (kernel, OS, container runtime,
Kubernetes layout) with its CIS Kubernetes node assessment (section 4, the
kubelet's files and settings; --targets adds the control-plane sections on
control-plane nodes) at start and every --bench-interval, sent when it
changed. On a node without a kubelet those checks say so (not applicable),
they never pass. The run-time watch (the eBPF sensor, else /proc scanning;
--auditd) streams alerts; an alert about the node names the node as the
inventory does (CLUSTER-ID/NODE).

The node's cluster is its kube-system namespace's UID: --cluster-id, else
read with --kubeconfig or, in a pod, the service account (get on namespace
kube-system). Reports and alerts go through the agent's disk outbox.`,
		Example: `  CLUSTER_ID=$(kubectl get ns kube-system -o jsonpath='{.metadata.uid}')
  bulwark agent node --server https://bulwark.example --token-file /etc/bulwark/enrol.token --cluster-id "$CLUSTER_ID"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := g.logger
			if fl := cmd.Flag("log-level"); fl != nil && !fl.Changed {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			ts, err := k8sbench.ParseTargets(targets)
			if err != nil {
				return &usageError{fmt.Errorf("--targets: %w", err)}
			}
			for _, t := range ts {
				if !t.NodeSide() {
					return &usageError{fmt.Errorf("--targets %s: assessed from the API (agent cluster, bench k8s), not on a node", t)}
				}
			}
			switch sensor {
			case "auto", "proc", "proc-poll", "none":
			default:
				return &usageError{fmt.Errorf("--sensor %q: want auto (eBPF, else /proc), proc, proc-poll or none", sensor)}
			}
			if clusterID == "" {
				cl, err := clusterscan.Connect(clusterscan.ConnectOptions{Kubeconfig: kubeconfig})
				if err != nil {
					return &usageError{fmt.Errorf("the node's cluster: give --cluster-id (kubectl get ns kube-system -o jsonpath='{.metadata.uid}') or API access: %w", err)}
				}
				if clusterID, err = cl.ID(cmd.Context()); err != nil {
					return fmt.Errorf("the node's cluster: %w (or give --cluster-id)", err)
				}
			}
			node := nodeArg
			if node == "" {
				node = os.Getenv("NODE_NAME")
			}
			if node == "" {
				node, _ = os.Hostname()
			}
			if af.name == "" {
				af.name = node
			}
			conn, err := af.connect(cmd, g, "node", log)
			if err != nil {
				return err
			}
			defer conn.Close()
			o := agent.NodeOptions{ClusterID: clusterID, ClusterName: clusterName, NodeName: node, Root: root, Proc: proc, Targets: ts,
				BenchInterval: benchInterval, Window: window, Version: version, Logger: log}
			if sensor != "none" || auditdLog != "" {
				ropts := rf.options(g)
				ropts.Logger = log
				eng, err := runtime.New(cmd.Context(), ropts)
				if err != nil {
					return err
				}
				o.Engine = eng
				o.Sources = watch.SourceConfig{EBPF: sensor == "auto", Proc: sensor == "proc" || sensor == "proc-poll", ProcPoll: sensor == "proc-poll", ProcInterval: procInterval, Auditd: auditdLog,
					Node: node, CheckpointDir: filepath.Join(g.cacheDir, "agent", "node", "runtime")}
				if o.Exceptions, err = af.exceptions(conn); err != nil {
					return err
				}
			}
			log.Info("node agent started", "agent", conn.AgentID(), "node", node, "cluster", clusterID, "server", af.srv.server, "version", version)
			if err := agent.RunNode(cmd.Context(), conn, o); err != nil {
				if errors.Is(err, cmd.Context().Err()) {
					return nil
				}
				return fmt.Errorf("node agent: %w", err)
			}
			log.Info("node agent stopped")
			return nil
		},
	}
	af.register(c)
	rf.register(c)
	fl := c.Flags()
	fl.StringVar(&clusterID, "cluster-id", "", "the node's cluster: its kube-system namespace's `UID` (default: read through --kubeconfig or the pod's service account)")
	fl.StringVar(&clusterName, "cluster-name", "", "the cluster's display name (default: the one the cluster agent gives)")
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig `FILE` to read the cluster's id with (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)")
	fl.StringVar(&nodeArg, "node-name", "", "the node's name (default: $NODE_NAME, else the host name)")
	fl.StringVar(&root, "root", "/", "where the host's filesystem is mounted (/host in the DaemonSet's pod)")
	fl.StringVar(&proc, "proc", "/proc", "the host's process table (the pod shares the host's PID namespace)")
	fl.StringSliceVar(&targets, "targets", []string{"node"}, "CIS Kubernetes targets to assess: node; on control-plane nodes also master, etcd, controlplane")
	fl.DurationVar(&benchInterval, "bench-interval", time.Hour, "re-run the CIS node assessment this often")
	fl.StringVar(&sensor, "sensor", "auto", "run-time sensor: auto (eBPF, else /proc), proc (processes from the kernel's process events where usable, else polled; connections polled), proc-poll (poll /proc for both), none")
	fl.DurationVar(&procInterval, "proc-interval", time.Second, "with /proc scanning: time between scans")
	fl.StringVar(&auditdLog, "auditd", "", "also follow this Linux audit `FILE` (/host/var/log/audit/audit.log in the pod)")
	fl.DurationVar(&window, "window", 10*time.Minute, "aggregation window of run-time alerts")
	return c
}
