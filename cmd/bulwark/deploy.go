package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/deploy"
)

// newDeployCmd is `bulwark deploy`: what runs the agents.
func newDeployCmd() *cobra.Command {
	c := &cobra.Command{Use: "deploy", Short: "Write what runs Bulwark's agents (a systemd unit)"}
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
	c.AddCommand(s)
	return c
}
