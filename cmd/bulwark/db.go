package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/dbartifact"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/update"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
	"github.com/spf13/cobra"
)

func newDBCmd(g *globalFlags) *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "Manage the local vulnerability DB"}
	var sources []string
	var from, verifyKey, nvdKey string
	var insecure bool
	up := &cobra.Command{
		Use:   "update",
		Short: "Build or refresh the vulnerability DB (from upstream feeds, --source files, or --from a registry for air-gapped hosts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			if from != "" {
				if len(sources) > 0 {
					return &usageError{fmt.Errorf("--from and --source exclude each other")}
				}
				var key ed25519.PublicKey
				if verifyKey != "" {
					k, err := dbartifact.ReadPublicKey(verifyKey)
					if err != nil {
						return &usageError{err}
					}
					key = k
				}
				meta, err := dbartifact.Pull(cmd.Context(), from, scan.DBDir(g.cacheDir), key, dbartifact.Options{Insecure: insecure})
				if err != nil {
					return err
				}
				verified := "digest verified"
				if key != nil {
					verified += ", signature verified"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "DB from %s installed in %s (%s): built %s, %d vulnerabilities, %s\n",
					from, time.Since(start).Round(time.Millisecond), verified, meta.BuiltAt.UTC().Format(time.RFC3339), meta.Vulnerabilities, scan.DBDir(g.cacheDir))
				return nil
			}
			if verifyKey != "" {
				return &usageError{fmt.Errorf("--verify-key needs --from")}
			}
			if nvdKey == "" {
				nvdKey = os.Getenv("BULWARK_NVD_API_KEY")
			}
			res, err := update.Run(cmd.Context(), scan.DBDir(g.cacheDir), update.Options{Sources: sources, Logger: g.logger,
				FeedCache: filepath.Join(g.cacheDir, "feeds"), NVDAPIKey: nvdKey})
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
	up.Flags().StringSliceVar(&sources, "source", nil, "import from local `PATH`s: folders or .zip, .tar.gz, .tar.zst, .json, .yaml, .xml files, instead of downloading; repeatable")
	up.Flags().StringVar(&nvdKey, "nvd-api-key", "", "NVD API `KEY`: a higher rate limit for the NVD download (default $BULWARK_NVD_API_KEY)")
	up.Flags().StringVar(&from, "from", "", "install the DB published by \"db push\" at `REGISTRY/REPO:TAG` (digest checked, swapped in atomically)")
	up.Flags().StringVar(&verifyKey, "verify-key", "", "with --from: ed25519 public key `FILE` (PEM) the DB's signature must verify with")
	up.Flags().BoolVar(&insecure, "insecure", false, "with --from: plain HTTP / unverified TLS (loopback registries may always use HTTP)")
	var pushKey string
	var pushInsecure bool
	push := &cobra.Command{
		Use:   "push REGISTRY/REPO:TAG",
		Short: "Publish the DB as an OCI artifact (digest, build time and sources in its annotations; signed with --key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var key ed25519.PrivateKey
			if pushKey != "" {
				k, err := dbartifact.ReadPrivateKey(pushKey)
				if err != nil {
					return &usageError{err}
				}
				key = k
			}
			p, err := dbartifact.Push(cmd.Context(), scan.DBDir(g.cacheDir), args[0], key, dbartifact.Options{Insecure: pushInsecure})
			if err != nil {
				return err
			}
			signed := "unsigned"
			if p.Signed {
				signed = "signed"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s (DB %s, %s)\n", p.Reference, p.Digest, p.DBDigest, signed)
			return nil
		},
	}
	push.Flags().StringVar(&pushKey, "key", "", "ed25519 private key `FILE` to sign the DB with (PKCS #8 PEM, as \"openssl genpkey -algorithm ed25519\" writes)")
	push.Flags().BoolVar(&pushInsecure, "insecure", false, "plain HTTP / unverified TLS (loopback registries may always use HTTP)")
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
	status.Flags().StringVarP(&statusFormat, "format", "f", "table", "output `FORMAT`: table or json")
	db.AddCommand(up, status, push)
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
	if m.Unreferenced > 0 {
		fmt.Fprintf(w, "Left out:\t%d records no package advisory names (NVD, EPSS, KEV of other CVEs)\n", m.Unreferenced)
	}
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
