package main

import (
	"fmt"
	"sort"
	"strings"
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
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the DB's sources, record counts per ecosystem, build time and age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := vulndb.Open(scan.DBDir(g.cacheDir))
			if err != nil {
				return err
			}
			defer d.Close()
			m := d.Meta()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			age := time.Since(m.BuiltAt).Round(time.Minute)
			fmt.Fprintf(w, "DB:\t%s\n", scan.DBDir(g.cacheDir))
			fmt.Fprintf(w, "Built at:\t%s (%s ago)\n", m.BuiltAt.UTC().Format(time.RFC3339), age)
			if age > 7*24*time.Hour {
				fmt.Fprintf(w, "WARNING:\tthe DB is older than 7 days; run `bulwark db update`\n")
			}
			fmt.Fprintf(w, "Vulnerabilities:\t%d\n", m.Vulnerabilities)
			fmt.Fprintf(w, "\nSOURCE\tRECORDS\n")
			for _, s := range m.Sources {
				fmt.Fprintf(w, "%s\t%d\n", s.Name, s.Records)
			}
			fmt.Fprintf(w, "\nECOSYSTEM\tAFFECTED ENTRIES\n")
			ecos := make([]string, 0, len(m.Counts))
			for e := range m.Counts {
				ecos = append(ecos, e)
			}
			sort.Strings(ecos)
			for _, e := range ecos {
				fmt.Fprintf(w, "%s\t%d\n", e, m.Counts[e])
			}
			_ = strings.TrimSpace
			return w.Flush()
		},
	}
	db.AddCommand(up, status)
	return db
}
