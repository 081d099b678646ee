package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/runtime"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// runtimeFlags are the rule-set flags every runtime subcommand shares.
type runtimeFlags struct {
	rules, lists, exceptions []string
}

func (f *runtimeFlags) register(c *cobra.Command) {
	c.PersistentFlags().StringArrayVar(&f.rules, "rules", nil, "directory (or file) of extra rules; a rule with a built-in id replaces it (repeatable)")
	c.PersistentFlags().StringArrayVar(&f.lists, "lists", nil, "directory (or file) of lists whose entries extend the built-in lists (repeatable)")
	c.PersistentFlags().StringArrayVar(&f.exceptions, "exceptions", nil, "exceptions file (repeatable)")
}

func (f *runtimeFlags) options(g *globalFlags) runtime.Options {
	return runtime.Options{RuleDirs: f.rules, ListDirs: f.lists, ExceptionFiles: f.exceptions, Logger: g.logger}
}

// newRuntimeCmd is `bulwark runtime`; watch and replay are added beside
// `rules`.
func newRuntimeCmd(g *globalFlags) *cobra.Command {
	f := &runtimeFlags{}
	c := &cobra.Command{
		Use:   "runtime",
		Short: "Run-time threat detection: rules over audit, Docker, process and network events",
	}
	f.register(c)
	c.AddCommand(newRuntimeRulesCmd(g, f))
	c.AddCommand(newRuntimeWatchCmd(g, f))
	c.AddCommand(newRuntimeReplayCmd(g, f))
	c.AddCommand(newRuntimeAuditPolicyCmd(g, f), newRuntimeAuditdRulesCmd(g, f))
	return c
}

func newRuntimeRulesCmd(g *globalFlags, f *runtimeFlags) *cobra.Command {
	c := &cobra.Command{Use: "rules", Short: "List and test detection rules"}
	var format string
	var cov coverageFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the rules (built-in and --rules), with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return &usageError{fmt.Errorf("--format %q: want table or json", format)}
			}
			rs, err := runtime.Load(cmd.Context(), f.options(g))
			if err != nil {
				return err
			}
			// Compile too, so a listed rule set is a valid one.
			if _, err := runtime.NewFromSet(rs, f.options(g)); err != nil {
				return err
			}
			if cov.coverage {
				prof, err := cov.profile()
				if err != nil {
					return err
				}
				return writeCoverage(cmd.OutOrStdout(), blindspot.Analyze(rs.Rules, prof), format)
			}
			return writeRuleList(cmd.OutOrStdout(), rs.Rules, format)
		},
	}
	list.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cov.register(list)
	var testFormat string
	test := &cobra.Command{
		Use:   "test [DIR…]",
		Short: "Run the rules' own test cases (built-ins and the rules in DIRs); exit 1 on a failure",
		RunE: func(cmd *cobra.Command, args []string) error {
			if testFormat != "table" && testFormat != "json" {
				return &usageError{fmt.Errorf("--format %q: want table or json", testFormat)}
			}
			opts := f.options(g)
			opts.RuleDirs = append(append([]string(nil), opts.RuleDirs...), args...)
			rs, err := runtime.Load(cmd.Context(), opts)
			if err != nil {
				return err
			}
			results := runtime.RunTests(cmd.Context(), rs)
			failed := 0
			for _, r := range results {
				if !r.Pass {
					failed++
				}
			}
			if err := writeTestResults(cmd.OutOrStdout(), results, testFormat); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d rule tests failed", failed, len(results))
			}
			return nil
		},
	}
	test.Flags().StringVar(&testFormat, "format", "table", "output format: table or json")
	c.AddCommand(list, test)
	return c
}

func writeRuleList(w io.Writer, rules []*runtime.Rule, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rules == nil {
			rules = []*runtime.Rule{}
		}
		return enc.Encode(rules)
	}
	// Rule files are user input: their text reaches the terminal escaped.
	tw := tabwriter.NewWriter(text.NewTerminalWriter(w, false), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSOURCES\tSTATE\tTITLE")
	for _, r := range rules {
		state := "on"
		if !r.IsEnabled() {
			state = "off"
		}
		srcs := make([]string, len(r.Sources))
		for i, s := range r.Sources {
			srcs[i] = string(s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, strings.Join(srcs, ","), state, r.Title)
	}
	return tw.Flush()
}

func writeTestResults(w io.Writer, results []runtime.TestResult, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if results == nil {
			results = []runtime.TestResult{}
		}
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(text.NewTerminalWriter(w, false), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tTEST\tRESULT\tDETAIL")
	passed := 0
	for _, r := range results {
		res, detail := "PASS", ""
		if r.Pass {
			passed++
		} else {
			res = "FAIL"
			detail = fmt.Sprintf("want fire=%v, fired=%v", r.Want, r.Fired)
			if r.Err != "" {
				detail = r.Err
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Rule, r.Test, res, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d rule tests: %d passed, %d failed\n", len(results), passed, len(results)-passed)
	return err
}
