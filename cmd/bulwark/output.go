package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// writeOutput runs write into path (a temporary file renamed into place
// only when every write and the close succeeded) or, when path is "" or
// "-", into stdout with its write errors checked. Text formats (escape)
// go through text.TerminalWriter: control characters that came with the
// data (image names, package names, labels) are printed escaped; JSON and
// the other machine formats are written exactly.
func writeOutput(cmd *cobra.Command, path string, escape bool, write func(io.Writer) error) error {
	var sink io.Writer
	var finish func() error
	if path != "" && path != "-" {
		f, err := atomicfile.Create(path, 0o644)
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer f.Abort()
		sink, finish = f, f.Commit
	} else {
		cw := &atomicfile.CheckedWriter{W: cmd.OutOrStdout()}
		sink, finish = cw, func() error {
			if err := cw.Err(); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		}
	}
	w := sink
	var tw *text.TerminalWriter
	if escape {
		tw = text.NewTerminalWriter(sink, true)
		w = tw
	}
	if err := write(w); err != nil {
		return err
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return finish()
}
