package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/update"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
	"github.com/spf13/cobra"
)

func newDBCmd(g *globalFlags) *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "Manage the local vulnerability DB"}
	var sources []string
	up := &cobra.Command{
		Use:   "update",
		Short: "Build or refresh the vulnerability DB (from upstream feeds, or --source files for air-gapped hosts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			res, err := update.Run(cmd.Context(), scan.DBDir(g.cacheDir), update.Options{Sources: sources, Logger: g.logger})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, st := range res.Imports {
				names := make([]string, 0, len(st.Records))
				for n := range st.Records {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(w, "imported %-22s %7d records\n", n, st.Records[n])
				}
				for _, s := range st.Skipped {
					fmt.Fprintf(w, "skipped  %s: %s\n", s.Name, s.Reason)
				}
				for _, s := range st.Failed {
					fmt.Fprintf(w, "FAILED   %s: %s\n", s.Name, s.Reason)
				}
			}
			fmt.Fprintf(w, "DB built in %s: %d vulnerabilities, %s\n", time.Since(start).Round(time.Millisecond), res.Meta.Vulnerabilities, scan.DBDir(g.cacheDir))
			return nil
		},
	}
	up.Flags().StringSliceVar(&sources, "source", nil, "import from local files or folders (dirs, .zip, .tar.gz, .json, .yaml) instead of downloading; repeatable")
	var statusFormat string
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the DB's sources, what it covers per distribution release and ecosystem, build time and age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if statusFormat != "table" && statusFormat != "json" {
				return &usageError{fmt.Errorf("--format: %q is not table or json", statusFormat)}
			}
			dir := scan.DBDir(g.cacheDir)
			d, err := vulndb.Open(dir)
			if err != nil {
				return err
			}
			defer d.Close()
			st := vulndb.StatusOf(dir, d.Meta(), time.Now(), 7*24*time.Hour)
			if statusFormat == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return writeDBStatus(cmd.OutOrStdout(), st)
		},
	}
	status.Flags().StringVarP(&statusFormat, "format", "f", "table", "output format: table or json")
	db.AddCommand(up, status)
	return db
}

func writeDBStatus(out io.Writer, st vulndb.Status) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	m := st.Meta
	fmt.Fprintf(w, "DB:\t%s\n", st.Path)
	fmt.Fprintf(w, "Built at:\t%s (%s ago)\n", m.BuiltAt.UTC().Format(time.RFC3339), st.Age)
	if st.Stale {
		fmt.Fprintf(w, "WARNING:\tthe DB is older than 7 days; run `bulwark db update`\n")
	}
	fmt.Fprintf(w, "Vulnerabilities:\t%d\n", m.Vulnerabilities)
	fmt.Fprintf(w, "\nSOURCE\tRECORDS\n")
	for _, s := range m.Sources {
		fmt.Fprintf(w, "%s\t%d\n", s.Name, s.Records)
	}
	if len(m.Coverage) == 0 {
		// A DB built before coverage was recorded: counts only.
		fmt.Fprintf(w, "\nECOSYSTEM\tAFFECTED ENTRIES\n")
		ecos := make([]string, 0, len(m.Counts))
		for e := range m.Counts {
			ecos = append(ecos, e)
		}
		sort.Strings(ecos)
		for _, e := range ecos {
			fmt.Fprintf(w, "%s\t%d\n", e, m.Counts[e])
		}
		fmt.Fprintf(w, "(run `bulwark db update` to record which sources cover each ecosystem)\n")
		return w.Flush()
	}
	fmt.Fprintf(w, "\nCOVERS\tPACKAGES\tENTRIES\tSOURCE\tNEWEST ADVISORY\n")
	for _, c := range m.Coverage {
		for i, s := range c.Sources {
			eco, pk, en := c.Ecosystem, fmt.Sprint(c.Packages), fmt.Sprint(c.Entries)
			if i > 0 {
				eco, pk, en = "", "", ""
			}
			newest := "-"
			if !s.Newest.IsZero() {
				newest = s.Newest.UTC().Format(time.DateOnly)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s (%d)\t%s\n", eco, pk, en, s.Name, s.Entries, newest)
		}
	}
	fmt.Fprintf(w, "\nAn image whose distribution release or language ecosystem is not listed is reported not assessed.\n")
	return w.Flush()
}
