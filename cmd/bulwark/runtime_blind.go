package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/auditpolicy"
	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/auditd"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// coverageFlags describe the sources `rules list --coverage` judges the
// rules against.
type coverageFlags struct {
	coverage      bool
	sources       []string
	auditLevel    string
	auditPolicy   string
	auditctlRules string
}

func (c *coverageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&c.coverage, "coverage", false, "show which rules the given sources let fire fully, partly or not at all, and why")
	fl.StringSliceVar(&c.sources, "sources", []string{"k8s-audit", "docker", "ebpf", "auditd", "falco"}, "with --coverage: the sources a watch or replay has (k8s-audit, docker, ebpf, proc, auditd, falco)")
	fl.StringVar(&c.auditLevel, "audit-level", "", "with --coverage: the level every audit event is recorded at (Metadata, Request, RequestResponse)")
	fl.StringVar(&c.auditPolicy, "audit-policy", "", "with --coverage: the API server's audit policy file, evaluated for each rule's requests")
	fl.StringVar(&c.auditctlRules, "auditctl-rules", "", "with --coverage: a `FILE` holding the node's \"auditctl -l\" output (default: auditd assumed to have Bulwark's rules)")
}

func (c *coverageFlags) profile() (blindspot.Profile, error) {
	var p blindspot.Profile
	for _, s := range c.sources {
		src := event.Source(strings.TrimSpace(s))
		switch src {
		case event.SourceK8sAudit, event.SourceDocker, event.SourceEBPF, event.SourceProc, event.SourceFalco:
			p.Feeds = append(p.Feeds, blindspot.SourceFeed(src))
		case event.SourceAuditd:
			if c.auditctlRules == "" {
				p.Feeds = append(p.Feeds, blindspot.SourceFeed(src))
				continue
			}
			b, err := os.ReadFile(c.auditctlRules)
			if err != nil {
				return p, fmt.Errorf("reading --auditctl-rules: %w", err)
			}
			p.Feeds = append(p.Feeds, blindspot.AuditdFeed(string(b), ""))
		default:
			return p, &usageError{fmt.Errorf("--sources: unknown source %q", s)}
		}
	}
	levels, err := auditLevels(c.auditLevel, c.auditPolicy)
	if err != nil {
		return p, err
	}
	p.Audit = levels
	return p, nil
}

// auditLevels reads --audit-level or --audit-policy (nil: neither given).
func auditLevels(level, policyFile string) (blindspot.AuditLevels, error) {
	switch {
	case level != "" && policyFile != "":
		return nil, &usageError{errors.New("--audit-level and --audit-policy: give one")}
	case level != "":
		l, err := runtime.ParseAuditLevel(level)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--audit-level: %w", err)}
		}
		return blindspot.FixedLevel(l), nil
	case policyFile != "":
		fh, err := os.Open(policyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the audit policy: %w", err)
		}
		defer fh.Close()
		pol, err := auditpolicy.Parse(fh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", policyFile, err)
		}
		return auditpolicy.Levels{Policy: pol}, nil
	}
	return nil, nil
}

func writeCoverage(w io.Writer, cs []blindspot.Coverage, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if cs == nil {
			cs = []blindspot.Coverage{}
		}
		return enc.Encode(cs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOVERAGE\tWHY")
	counts := map[blindspot.Grade]int{}
	for _, c := range cs {
		counts[c.Grade]++
		why := strings.Join(c.Reasons, "; ")
		if why == "" {
			why = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Rule, c.Grade, termSafe(why))
	}
	fmt.Fprintf(tw, "\n%d rules: %d full, %d partial, %d blind\n", len(cs), counts[blindspot.Full], counts[blindspot.Partial], counts[blindspot.Blind])
	return tw.Flush()
}

// termSafe keeps a reason on one line, with control characters from
// events (resource names, verbs) escaped.
func termSafe(s string) string { return text.Escape(strings.Join(strings.Fields(s), " ")) }

func newRuntimeAuditPolicyCmd(g *globalFlags, f *runtimeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "audit-policy",
		Short: "Print the Kubernetes audit policy that gives every rule what it reads at the least cost, with the API server flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := runtime.Load(cmd.Context(), f.options(g))
			if err != nil {
				return err
			}
			return auditpolicy.Write(cmd.OutOrStdout(), auditpolicy.Generate(rs.Enabled()))
		},
	}
}

func newRuntimeAuditdRulesCmd(g *globalFlags, f *runtimeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "auditd-rules",
		Short: "Print the Linux audit rules that give the auditd source the events the rules read",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := runtime.Load(cmd.Context(), f.options(g))
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), auditd.Rules(auditdKinds(rs.Enabled())))
			return err
		},
	}
}

// auditdKinds are the node event kinds of the rules that read auditd.
func auditdKinds(rules []*runtime.Rule) []event.Kind {
	seen := map[event.Kind]bool{}
	var out []event.Kind
	for _, r := range rules {
		reads := len(r.Sources) == 0
		for _, s := range r.Sources {
			reads = reads || s == event.SourceAuditd
		}
		if !reads {
			continue
		}
		for _, k := range r.Kinds {
			switch k {
			case event.KindProcessExec, event.KindNetConnect, event.KindFile, event.KindNamespace:
				if !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
			}
		}
	}
	return out
}
