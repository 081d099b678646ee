package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/deploy"
)

// newDeployCmd is `bulwark deploy`: what runs the agents.
func newDeployCmd() *cobra.Command {
	c := &cobra.Command{Use: "deploy", Short: "Write what runs Bulwark: Kubernetes manifests, the Docker host agent's systemd unit"}
	var o deploy.SystemdOptions
	s := &cobra.Command{
		Use:     "systemd",
		Short:   "Print the systemd unit of the Docker host agent",
		Example: "  bulwark deploy systemd --server https://bulwark.example > /etc/systemd/system/bulwark-agent.service",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Server == "" {
				return &usageError{errors.New("deploy systemd needs --server")}
			}
			u, err := deploy.Systemd(o)
			if err != nil {
				return &usageError{err}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), u)
			return err
		},
	}
	fl := s.Flags()
	fl.StringVar(&o.Server, "server", "", "the Bulwark server the agent reports to")
	fl.StringVar(&o.Binary, "binary", "/usr/local/bin/bulwark", "absolute path of the bulwark executable on the host")
	fl.StringVar(&o.TokenFile, "token-file", "/etc/bulwark/enrol.token", "file holding the enrolment token for the first start")
	fl.StringVar(&o.ServerCA, "server-ca", "", "CA certificate (PEM) file trusted for the server")
	fl.StringVar(&o.StateDir, "state-dir", "/var/lib/bulwark-agent", "the agent's credential and outbox")
	fl.StringVar(&o.CacheDir, "cache-dir", "/var/cache/bulwark-agent", "the agent's layer cache and run-time checkpoints")
	fl.StringArrayVar(&o.ExtraArgs, "agent-arg", nil, "an extra argument of the agent docker command (repeatable: --agent-arg=--ebpf)")
	c.AddCommand(s, newDeployManifestsCmd())
	return c
}

func newDeployManifestsCmd() *cobra.Command {
	var o deploy.ManifestOptions
	c := &cobra.Command{
		Use:   "manifests",
		Short: "Print the Kubernetes manifests of the server, the cluster and node agents, RBAC, NetworkPolicies, PDBs and the admission webhook",
		Long: `Prints one YAML stream to apply with kubectl: the namespace; the server
(StatefulSet with its volume, Service); the cluster agent (Deployment) and the
node agent (DaemonSet: hostPID, read-only host paths, the capabilities its
sensor needs, not privileged); their service accounts with least-privilege
RBAC; NetworkPolicies (default deny, then each workload's traffic);
PodDisruptionBudgets; and the admission webhook's objects, as
"admission manifests" prints them. Secrets are referenced by name, never
written: the header says which to create.`,
		Example: `  bulwark deploy manifests --image ghcr.io/bulwarkdev/bulwark@sha256:… > bulwark.yaml
  bulwark deploy manifests --no-server --server https://bulwark.example --namespace security > bulwark.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Image == "" {
				o.Image = defaultImage()
			}
			s, err := deploy.Manifests(o)
			if err != nil {
				return &usageError{err}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), s)
			return err
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Server, "server", "", "`URL` the agents report to (default: the server these manifests run, https://bulwark-server.NAMESPACE.svc:8443)")
	fl.BoolVar(&o.NoServer, "no-server", false, "leave the server out: it runs elsewhere (--server names it)")
	fl.StringVarP(&o.Namespace, "namespace", "n", "bulwark-system", "namespace of every object")
	fl.StringVar(&o.Image, "image", "", "bulwark image (default ghcr.io/bulwarkdev/bulwark at this version; pin it by digest)")
	fl.IntVar(&o.Replicas, "replicas", 1, "server replicas (more than one needs --database-secret)")
	fl.StringVar(&o.TokenSecret, "token-secret", "bulwark-enrol", "Secret whose key token is the agents' enrolment token")
	fl.StringVar(&o.AdmissionTokenSecret, "admission-token-secret", "bulwark-admission-token", "Secret whose key token is the admission webhook's API token (scope read): it takes its policy config and image verdicts from the server")
	fl.StringVar(&o.TLSSecret, "tls-secret", "bulwark-server-tls", "Secret holding the server's tls.crt and tls.key")
	fl.StringVar(&o.DatabaseSecret, "database-secret", "", "Secret whose key url is the server's PostgreSQL URL (default: SQLite on its volume)")
	fl.StringVar(&o.SecretsKeySecret, "secrets-key-secret", "", "Secret whose key secrets.key seals registry credentials (default bulwark-secrets-key with more than one replica)")
	fl.StringVar(&o.ServerCAConfigMap, "server-ca-configmap", "", "ConfigMap whose key ca.crt the agents trust for the server (default: the system roots)")
	fl.StringVar(&o.ClusterID, "cluster-id", "", "the cluster's kube-system namespace `UID`: the node agent is given it and no API access")
	fl.StringVar(&o.StorageSize, "storage-size", "20Gi", "size of the server's volume")
	fl.StringVar(&o.StorageClass, "storage-class", "", "storage class of the volumes (default: the cluster's default)")
	fl.StringVar(&o.NodeSensor, "node-sensor", "auto", "node agent's run-time sensor: auto (eBPF, else /proc) or proc (no BPF capabilities)")
	fl.BoolVar(&o.NodeAuditd, "node-auditd", false, "the node agent also follows the host's /var/log/audit/audit.log")
	fl.BoolVar(&o.NoAdmission, "no-admission", false, "leave the admission webhook out")
	fl.StringVar(&o.AdmissionFailurePolicy, "admission-failure-policy", "Fail", "the admission webhook's failurePolicy: Fail or Ignore")
	return c
}

// defaultImage is the image of this release; a development build names
// latest.
func defaultImage() string {
	if strings.HasPrefix(version, "v") && strings.Count(version, ".") == 2 && !strings.Contains(version, "-") {
		return "ghcr.io/bulwarkdev/bulwark:" + version
	}
	return "ghcr.io/bulwarkdev/bulwark:latest"
}
