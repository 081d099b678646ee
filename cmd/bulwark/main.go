// Command bulwark is the CLI over Bulwark's libraries: it wires flags to
// library calls and maps errors to exit codes, nothing more.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// BULWARK_CPUPROFILE=file writes a CPU profile: how the speed figures
	// in bench/ are investigated.
	if p := os.Getenv("BULWARK_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	cmd, err := newRootCmd().ExecuteContextC(ctx)
	pprof.StopCPUProfile()
	stop()
	os.Exit(exitStatus(os.Stderr, cmd, err))
}

// exitError carries a documented exit code (the --exit-code gate).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int { return exitStatus(os.Stderr, nil, err) }

// exitStatus prints err once to w and returns the exit code: 2 for a
// usage error (followed by where to read the usage of cmd, the command
// that failed), the --exit-code gate's code, else 1.
func exitStatus(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(w, "bulwark:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(w, "bulwark:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(w, usageHint(cmd))
		return 2
	}
	return 1
}

type usageError struct{ error }
