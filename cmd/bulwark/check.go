package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/scan"
)

// checkResult is what `check image -f json` prints: the server's verdict.
type checkResult struct {
	Resource  string        `json:"resource"`
	Name      string        `json:"name,omitempty"`
	Verdict   model.Verdict `json:"verdict"`
	Counts    model.Counts  `json:"counts"`
	DBVersion string        `json:"db_version,omitempty"`
	// Source is "stored" when the server already held the image's
	// inventory matched with its current DB (only the digest was sent),
	// "sent" when the inventory was sent and judged.
	Source string `json:"source"`
}

func newCheckCmd(g *globalFlags) *cobra.Command {
	c := &cobra.Command{Use: "check", Short: "Ask a Bulwark server for its verdict (a CI gate that shares the server's DB and policy)"}
	var (
		src              sourceFlags
		srv              serverFlags
		format           string
		exitCode         int
		allowNotAssessed bool
		platform         string
		insecure         bool
	)
	img := &cobra.Command{
		Use:   "image [REF]",
		Short: "The server's verdict on an image: registry REF, or --input TAR, --layout DIR, --docker NAME, --rootfs DIR",
		Long: `Inventories the image locally (no vulnerability DB needed here) and has the
server judge it with its DB; when the server already holds the image's
inventory matched with its current DB, only the digest is sent. Exits with
--exit-code N when the server's verdict is unhealthy or not assessed, as
scan image's gate does.`,
		Example: `  bulwark check image --input app.tar --server https://bulwark.example --token-file ci.token --exit-code 1`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			if srv.server == "" {
				return &usageError{errors.New("check needs --server")}
			}
			t, err := src.target(args)
			if err != nil {
				return err
			}
			cl, err := srv.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			opts := scan.Options{CacheDir: g.cacheDir, Logger: g.logger, Version: version}
			opts.Image.Platform, opts.Image.Insecure, opts.Image.Logger = platform, insecure, g.logger
			res, err := storedVerdict(cmd, cl, t, opts)
			if err != nil {
				return err
			}
			if res == nil {
				rep, err := scan.Catalog(ctx, t, opts)
				if err != nil {
					return err
				}
				ir, err := cl.PostJSON(ctx, string(ingest.KindImage), rep)
				if err != nil {
					return fmt.Errorf("ask %s: %w", srv.server, err)
				}
				if ir.Summary == nil {
					return fmt.Errorf("ask %s: the answer has no verdict", srv.server)
				}
				res = &checkResult{Resource: ir.Resource, Name: rep.Resource.Name, Verdict: ir.Summary.Verdict, Counts: ir.Summary.Counts, Source: "sent"}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				c := res.Counts
				fmt.Fprintf(out, "%s: %s (critical %d, high %d, medium %d, low %d, unknown %d) — judged by %s\n",
					res.Resource, res.Verdict, c.Critical, c.High, c.Medium, c.Low, c.Unknown, srv.server)
			}
			if exitCode == 0 || res.Verdict == model.VerdictHealthy || (res.Verdict == model.VerdictNotAssessed && allowNotAssessed) {
				return nil
			}
			return &exitError{code: exitCode}
		},
	}
	src.register(img)
	srv.register(img)
	// check asks the server; it does not "also send" a report.
	img.Flags().Lookup("server").Usage = "the Bulwark server at `URL` (https://host:port) whose verdict is asked (required)"
	fl := img.Flags()
	fl.StringVarP(&format, "format", "f", "text", "output `FORMAT`: text or json")
	fl.IntVar(&exitCode, "exit-code", 0, "exit with this `CODE` when the server's verdict is unhealthy or not assessed")
	fl.BoolVar(&allowNotAssessed, "allow-not-assessed", false, "with --exit-code: pass an image the server could not assess")
	fl.StringVar(&platform, "platform", "", "`OS/ARCH[/VARIANT]` to pick from a multi-arch image")
	fl.BoolVar(&insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry")
	c.AddCommand(img)
	return c
}

// storedVerdict opens the image just far enough to know its digest and
// asks the server whether it holds that image matched with its current DB;
// nil when it does not (the inventory must then be sent).
func storedVerdict(cmd *cobra.Command, cl *client.Client, t scan.Target, opts scan.Options) (*checkResult, error) {
	if t.Kind == scan.FromDir {
		return nil, nil // a directory has no digest
	}
	ctx := cmd.Context()
	op, err := scan.Open(ctx, t, opts.Image)
	if err != nil {
		return nil, fmt.Errorf("open %s image %s: %w", t.Kind, t.Ref, err)
	}
	id := op.Info.Digest
	if id == "" {
		id = op.Info.ConfigDigest
	}
	op.Close()
	if id == "" {
		return nil, nil
	}
	var st struct {
		DB struct {
			Version string `json:"version"`
		} `json:"vulnerability_db"`
	}
	if err := cl.Get(ctx, "/api/v1/status", url.Values{}, &st); err != nil || st.DB.Version == "" {
		return nil, nil //nolint:nilerr // no status: send the inventory
	}
	d, err := cl.Resource(ctx, id)
	if err != nil || d.Inventory == nil || d.DBVersion != st.DB.Version || d.Health == "" {
		return nil, nil //nolint:nilerr // not held, or matched with an older DB: send it
	}
	return &checkResult{Resource: id, Name: d.Name, Verdict: model.Verdict(d.Health), Counts: d.Counts, DBVersion: d.DBVersion, Source: "stored"}, nil
}
