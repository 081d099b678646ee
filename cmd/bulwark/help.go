package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// setupHelp makes help and usage read as a user expects on every command
// of the tree: boolean flags as `--flag` (pflag 1.1 writes
// `--flag[=true|false]`), and a command group given an unknown
// subcommand fails as a usage error (exit 2) instead of printing its help
// and exiting 0.
func setupHelp(root *cobra.Command) {
	cobra.AddTemplateFunc("flagUsages", flagUsages)
	root.SetUsageTemplate(strings.NewReplacer(
		"{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}", "{{flagUsages .LocalFlags | trimTrailingWhitespaces}}",
		"{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}", "{{flagUsages .InheritedFlags | trimTrailingWhitespaces}}",
	).Replace(root.UsageTemplate()))
	groupsRejectUnknown(root)
}

// flagUsages is pflag's FlagUsages with boolean flags shown without a
// value: a copy of each bool flag whose Value no longer says it is a
// no-option flag (its NoOptDefVal "true" already hides the default).
func flagUsages(fs *pflag.FlagSet) string {
	shadow := pflag.NewFlagSet("usage", pflag.ContinueOnError)
	shadow.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		cp := *f
		switch {
		case f.Value.Type() == "bool":
			cp.Value = plainBool{f.Value}
		case !strings.Contains(f.Usage, "`"):
			if p := placeholder(f); p != "" {
				cp.Value = named{f.Value, p}
			}
		}
		shadow.AddFlag(&cp)
	})
	return shadow.FlagUsages()
}

// named shows a flag's value as a placeholder of what it is (`--data-dir
// DIR`, `--server URL`) where its usage names none, instead of pflag's Go
// type (`--data-dir string`).
type named struct {
	pflag.Value
	name string
}

func (n named) Type() string { return n.name }

// placeholder names the value of a flag whose usage does not: by its type
// (DURATION, N), else by what its name says it is (a directory, a file, a
// URL, an address), else its name's last word.
func placeholder(f *pflag.Flag) string {
	n := f.Name
	switch f.Value.Type() {
	case "duration":
		return "DURATION"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64":
		return "N"
	case "string", "stringSlice", "stringArray":
	default:
		return ""
	}
	list := f.Value.Type() != "string"
	var p string
	switch {
	case n == "dir" || strings.HasSuffix(n, "-dir") || strings.HasSuffix(n, "root") || strings.HasSuffix(n, "checkpoint") || n == "lists":
		p = "DIR"
	case strings.HasSuffix(n, "-file") || strings.HasSuffix(n, "-cert") || strings.HasSuffix(n, "-key") || strings.HasSuffix(n, "-ca") ||
		n == "kubeconfig" || n == "output" || n == "auditd" || n == "exceptions" || strings.HasSuffix(n, "-config") || n == "config" || strings.HasSuffix(n, "-log") || strings.HasSuffix(n, "-policy"):
		p = "FILE"
	case n == "server" || n == "database" || strings.HasSuffix(n, "-url") || strings.HasSuffix(n, "-issuer") || n == "url":
		p = "URL"
	case n == "listen" || strings.HasSuffix(n, "-listen") || strings.HasSuffix(n, "-addr") || strings.HasSuffix(n, "address") || strings.HasSuffix(n, "-webhook"):
		p = "ADDR"
	case n == "threshold" || strings.HasSuffix(n, "severity"):
		p = "SEVERITY"
	default:
		parts := strings.Split(n, "-")
		p = strings.ToUpper(parts[len(parts)-1])
	}
	if list {
		p += ",..."
	}
	return p
}

// plainBool hides IsBoolFlag from pflag's usage writer only.
type plainBool struct{ v pflag.Value }

func (b plainBool) String() string     { return b.v.String() }
func (b plainBool) Set(s string) error { return b.v.Set(s) }
func (b plainBool) Type() string       { return "bool" }

// groupsRejectUnknown gives every command that only groups subcommands
// (scan, db, bench …, and the root) an argument check: an unknown
// subcommand is a usage error naming it, with cobra's suggestions; no
// argument prints the group's help.
func groupsRejectUnknown(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.SuggestionsMinimumDistance = 2
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return &usageError{fmt.Errorf("%s", msg)}
		}
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		c.DisableFlagsInUseLine = true
	}
	for _, sub := range c.Commands() {
		groupsRejectUnknown(sub)
	}
}

// usageHint is the line printed after a usage error: where to read how
// the command is used.
func usageHint(cmd *cobra.Command) string {
	if cmd == nil {
		return "Run 'bulwark --help' for usage."
	}
	return fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())
}
