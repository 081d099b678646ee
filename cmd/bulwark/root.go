package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/progress"
)

type globalFlags struct {
	cacheDir string
	logLevel string
	logger   *slog.Logger
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "bulwark",
		Short:         "Container security: image vulnerabilities, host and cluster hardening",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return &usageError{fmt.Errorf("--log-level: %w", err)}
			}
			logOut := cmd.ErrOrStderr()
			// Progress bars on a terminal only; never in pipes or CI logs.
			// Log lines then go through it, so they never share a bar's line.
			if f, ok := logOut.(*os.File); ok {
				if t := progress.Terminal(f); t != nil {
					cmd.SetContext(progress.With(cmd.Context(), t))
					logOut = t
				}
			}
			g.logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: lvl}))
			if g.cacheDir == "" {
				d, err := defaultCacheDir()
				if err != nil {
					return err
				}
				g.cacheDir = d
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", "", "`DIR` for the vulnerability DB and the layer cache (default: the user cache directory/bulwark, or $BULWARK_CACHE_DIR)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log `LEVEL`: debug, info, warn, error")
	scanCmd := newScanCmd(g)
	scanK8s, admissionCmd := newK8sCmds(g)
	scanCmd.AddCommand(scanK8s)
	root.AddCommand(newDBCmd(g), scanCmd, newSBOMCmd(g), newBenchCmd(g), admissionCmd, newAuditCmd(g), newVersionCmd())
	root.AddCommand(newRuntimeCmd(g), newServerCmd(g), newTokenCmd(g), newCheckCmd(g), newRegistryCmd())
	root.AddCommand(newAgentCmd(g), newDeployCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	setupHelp(root)
	wrapArgErrors(root)
	return root
}

// wrapArgErrors makes a wrong number or kind of arguments a usage error
// (exit 2), like a bad flag, on every command of the tree.
func wrapArgErrors(c *cobra.Command) {
	if v := c.Args; v != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := v(cmd, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgErrors(sub)
	}
}

func defaultCacheDir() (string, error) {
	if d := os.Getenv("BULWARK_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache dir (set --cache-dir): %w", err)
	}
	return filepath.Join(d, "bulwark"), nil
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "bulwark", version)
			return err
		},
	}
}
