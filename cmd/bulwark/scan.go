package main

import (
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/spf13/cobra"
)

// outputFlags are shared by every command that writes a report.
type outputFlags struct {
	format string
	output string
}

func (o *outputFlags) register(cmd *cobra.Command, def string) {
	cmd.Flags().StringVarP(&o.format, "format", "f", def, "output format: table, json, sarif, cyclonedx, spdx-json")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to this file instead of stdout")
}

func (o *outputFlags) write(cmd *cobra.Command, rep *model.Report) error {
	f, err := report.ParseFormat(o.format)
	if err != nil {
		return &usageError{err}
	}
	return writeOutput(cmd, o.output, f == report.FormatTable, func(w io.Writer) error {
		if err := report.Write(w, f, rep, report.Options{ToolVersion: version}); err != nil {
			return fmt.Errorf("write %s report: %w", f, err)
		}
		return nil
	})
}

// scanFlags are the options of `scan image` and `scan sbom`.
type scanFlags struct {
	out           outputFlags
	severity      string
	threshold     string
	ignoreUnfixed bool
	exitCode      int
	ignoreFile    string
	vexFile       string
	platform      string
	insecure      bool
	noCache       bool
	maxFileSize   int64
	maxLayerSize  int64
	// allowNotAssessed lets --exit-code pass an image that could not be
	// assessed; by default a gate fails what it could not judge.
	allowNotAssessed bool
	srv              serverFlags
}

func (s *scanFlags) register(cmd *cobra.Command) {
	s.out.register(cmd, "table")
	s.srv.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&s.severity, "severity", "", "report only these severities (comma-separated: critical,high,medium,low,unknown)")
	fl.StringVar(&s.threshold, "threshold", "medium", "the image is unhealthy when an active finding is at or above this severity")
	fl.BoolVar(&s.ignoreUnfixed, "ignore-unfixed", false, "drop findings that have no fixed version")
	fl.IntVar(&s.exitCode, "exit-code", 0, "exit with this code when the image is unhealthy or not assessed (CI gate)")
	fl.BoolVar(&s.allowNotAssessed, "allow-not-assessed", false, "with --exit-code: pass an image the DB could not assess (a distribution or ecosystem without advisories)")
	fl.StringVar(&s.ignoreFile, "ignore-file", "", "YAML or text file of vulnerability ids to ignore, with reason and expiry")
	fl.StringVar(&s.vexFile, "vex", "", "OpenVEX document: not_affected statements suppress findings")
	fl.StringVar(&s.platform, "platform", "", "platform to pick from a multi-arch index (os/arch[/variant])")
	fl.BoolVar(&s.insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry (loopback registries always may use HTTP)")
	fl.BoolVar(&s.noCache, "no-cache", false, "do not use or fill the per-layer analysis cache")
	fl.Int64Var(&s.maxFileSize, "max-file-size", layer.DefaultLimits().MaxFileSize, "largest file read from a layer, in bytes; larger ones are skipped with a warning")
	fl.Int64Var(&s.maxLayerSize, "max-layer-size", layer.DefaultLimits().MaxLayerSize, "largest uncompressed layer read, in bytes (decompression-bomb guard)")
}

func (s *scanFlags) options(g *globalFlags) (scan.Options, error) {
	if _, err := report.ParseFormat(s.out.format); err != nil {
		return scan.Options{}, &usageError{err}
	}
	th, err := model.ParseSeverity(s.threshold)
	if err != nil {
		return scan.Options{}, &usageError{fmt.Errorf("--threshold: %w", err)}
	}
	var sevs []model.Severity
	if s.severity != "" {
		for _, p := range strings.Split(s.severity, ",") {
			sv, err := model.ParseSeverity(p)
			if err != nil {
				return scan.Options{}, &usageError{fmt.Errorf("--severity: %w", err)}
			}
			sevs = append(sevs, sv)
		}
	}
	lim := layer.DefaultLimits()
	lim.MaxFileSize, lim.MaxLayerSize = s.maxFileSize, s.maxLayerSize
	return scan.Options{
		CacheDir:      g.cacheDir,
		NoLayerCache:  s.noCache,
		Threshold:     th,
		Severities:    sevs,
		IgnoreUnfixed: s.ignoreUnfixed,
		IgnoreFile:    s.ignoreFile,
		VEXFile:       s.vexFile,
		Image:         image.Options{Platform: s.platform, Insecure: s.insecure, Logger: g.logger},
		Limits:        lim,
		Logger:        g.logger,
		Version:       version,
	}, nil
}

// run builds the options, produces the report, writes it and applies the
// gate: the shape of every scanning command.
func (s *scanFlags) run(cmd *cobra.Command, g *globalFlags, produce func(scan.Options) (*model.Report, error)) error {
	opts, err := s.options(g)
	if err != nil {
		return err
	}
	cl, err := s.srv.client()
	if err != nil {
		return err
	}
	rep, err := produce(opts)
	if err != nil {
		return err
	}
	if err := s.out.write(cmd, rep); err != nil {
		return err
	}
	if err := s.srv.send(cmd.Context(), cmd.ErrOrStderr(), cl, ingest.KindImage, rep); err != nil {
		return err
	}
	return s.gate(rep)
}

// gate turns an unhealthy or not-assessed verdict into the requested exit
// code: a gate must not pass what it could not judge, unless told so.
func (s *scanFlags) gate(rep *model.Report) error {
	if s.exitCode == 0 || rep.Summary.Healthy {
		return nil
	}
	if rep.Summary.Verdict == model.VerdictNotAssessed && s.allowNotAssessed {
		return nil
	}
	return &exitError{code: s.exitCode}
}

func newScanCmd(g *globalFlags) *cobra.Command {
	sc := &cobra.Command{Use: "scan", Short: "Scan images and SBOMs for vulnerabilities"}
	var f scanFlags
	var src sourceFlags
	img := &cobra.Command{
		Use:   "image [REF]",
		Short: "Scan a container image: registry REF, or --input TAR, --layout DIR, --docker NAME",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := src.target(args)
			if err != nil {
				return err
			}
			return f.run(cmd, g, func(opts scan.Options) (*model.Report, error) { return scan.Image(cmd.Context(), t, opts) })
		},
	}
	f.register(img)
	src.register(img)

	var sf scanFlags
	sb := &cobra.Command{
		Use:   "sbom FILE",
		Short: "Scan the packages of a CycloneDX or SPDX JSON SBOM (ours, syft's or trivy's)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.run(cmd, g, func(opts scan.Options) (*model.Report, error) { return scan.SBOM(cmd.Context(), args[0], opts) })
		},
	}
	sf.register(sb)
	sc.AddCommand(img, sb)
	return sc
}

// sourceFlags pick where an image comes from.
type sourceFlags struct {
	input  string
	layout string
	docker string
	dir    string
}

func (s *sourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.input, "input", "", "image archive: `docker save` tarball or OCI archive")
	cmd.Flags().StringVar(&s.layout, "layout", "", "OCI image layout directory")
	cmd.Flags().StringVar(&s.docker, "docker", "", "image held by the local Docker engine (name, id or digest)")
	cmd.Flags().StringVar(&s.dir, "rootfs", "", "an unpacked root filesystem directory")
}

func (s *sourceFlags) target(args []string) (scan.Target, error) {
	var ts []scan.Target
	if len(args) == 1 {
		ts = append(ts, scan.Target{Kind: scan.FromRegistry, Ref: args[0]})
	}
	if s.input != "" {
		ts = append(ts, scan.Target{Kind: scan.FromTarball, Ref: s.input})
	}
	if s.layout != "" {
		ts = append(ts, scan.Target{Kind: scan.FromLayout, Ref: s.layout})
	}
	if s.docker != "" {
		ts = append(ts, scan.Target{Kind: scan.FromDocker, Ref: s.docker})
	}
	if s.dir != "" {
		ts = append(ts, scan.Target{Kind: scan.FromDir, Ref: s.dir})
	}
	if len(ts) != 1 {
		return scan.Target{}, &usageError{fmt.Errorf("give exactly one image: REF, --input, --layout, --docker or --rootfs")}
	}
	return ts[0], nil
}

func newSBOMCmd(g *globalFlags) *cobra.Command {
	var f scanFlags
	var src sourceFlags
	cmd := &cobra.Command{
		Use:   "sbom [REF]",
		Short: "Write an SBOM of an image (CycloneDX or SPDX JSON) without matching vulnerabilities",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := src.target(args)
			if err != nil {
				return err
			}
			opts, err := f.options(g)
			if err != nil {
				return err
			}
			rep, err := scan.Catalog(cmd.Context(), t, opts)
			if err != nil {
				return err
			}
			rep.Findings = nil
			return f.out.write(cmd, rep)
		},
	}
	f.register(cmd)
	_ = cmd.Flags().Set("format", "cyclonedx")
	cmd.Flags().Lookup("format").DefValue = "cyclonedx"
	src.register(cmd)
	return cmd
}
