package main

import (
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/dockerbench"
	"github.com/spf13/cobra"
)

func newBenchCmd(g *globalFlags) *cobra.Command {
	b := &cobra.Command{Use: "bench", Short: "Assess hosts and clusters against CIS benchmarks"}
	var (
		host, root, checks, exclude, format, output, known string
		level, exitCode                                    int
		srv                                                serverFlags
	)
	d := &cobra.Command{
		Use:   "docker",
		Short: "Assess a Docker host against every control of the CIS Docker Benchmark v1.6.0",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(dockerbench.Formats, format) {
				return &usageError{fmt.Errorf("--format %q: want one of %s", format, strings.Join(dockerbench.Formats, ", "))}
			}
			filter := dockerbench.Filter{Checks: splitList(checks), Exclude: splitList(exclude), Level: level}
			if err := filter.Validate(); err != nil {
				return &usageError{err}
			}
			cl, err := srv.client()
			if err != nil {
				return err
			}
			snap := dockerbench.Collect(cmd.Context(), dockerbench.CollectOptions{Host: host, Root: root, KnownLatestDocker: known, Logger: g.logger})
			rep := dockerbench.Run(snap, filter, time.Now())
			err = writeOutput(cmd, output, format == "table", func(w io.Writer) error {
				if err := dockerbench.Write(w, format, rep, version); err != nil {
					return fmt.Errorf("write %s report: %w", format, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := srv.send(cmd.Context(), cmd.ErrOrStderr(), cl, ingest.KindDockerBench, rep); err != nil {
				return err
			}
			if exitCode != 0 && rep.Score.Failed > 0 {
				return &exitError{code: exitCode}
			}
			return nil
		},
	}
	fl := d.Flags()
	fl.StringVar(&host, "host", "", "Docker engine `ADDRESS` (unix:///var/run/docker.sock, tcp://…); default $DOCKER_HOST or the local socket")
	fl.StringVar(&root, "root", "/", "`DIR` where the host's filesystem is mounted (e.g. /host for an agent in a container)")
	fl.StringVar(&checks, "checks", "", "only these control or section `IDS`, comma-separated (2,5.4)")
	fl.StringVar(&exclude, "exclude", "", "skip these control or section `IDS`, comma-separated")
	fl.IntVar(&level, "level", 0, "`LEVEL`: 1 for the level-1 controls only; 2 or unset for all")
	fl.StringVarP(&format, "format", "f", "table", "output `FORMAT`: table, json, sarif, junit")
	fl.StringVarP(&output, "output", "o", "", "write the report to this `FILE` instead of stdout")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this `CODE` when any automated control fails (CI gate)")
	srv.register(d)
	fl.StringVar(&known, "known-docker-version", "", "newest Docker `VERSION` you consider current, shown beside the running one for 1.2.2")
	b.AddCommand(d, newBenchK8sCmd(g))
	return b
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
