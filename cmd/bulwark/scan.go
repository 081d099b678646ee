package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/ingest"

	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/spf13/cobra"
)

// outputFlags are shared by every command that writes a report.
type outputFlags struct {
	format  string
	output  string
	formats []string // what -f accepts here
}

func (o *outputFlags) register(cmd *cobra.Command, def string, formats ...string) {
	o.formats = formats
	cmd.Flags().StringVarP(&o.format, "format", "f", def, "output `FORMAT`: "+strings.Join(formats, ", "))
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to this `FILE` instead of stdout")
}

// parse checks -f against the formats this command writes.
func (o *outputFlags) parse() (report.Format, error) {
	f, err := report.ParseFormat(o.format)
	if err != nil || !slices.Contains(o.formats, string(f)) {
		return "", &usageError{fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(o.formats, ", "))}
	}
	return f, nil
}

func (o *outputFlags) write(cmd *cobra.Command, rep *model.Report) error {
	f, err := o.parse()
	if err != nil {
		return err
	}
	return writeOutput(cmd, o.output, f == report.FormatTable, func(w io.Writer) error {
		if err := report.Write(w, f, rep, report.Options{ToolVersion: version}); err != nil {
			return fmt.Errorf("write %s report: %w", f, err)
		}
		return nil
	})
}

// imageFlags are how an image is read: by `scan image` and `sbom`.
type imageFlags struct {
	platform     string
	insecure     bool
	noCache      bool
	maxFileSize  int64
	maxLayerSize int64
}

func (i *imageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&i.platform, "platform", "", "`OS/ARCH[/VARIANT]` to pick from a multi-arch image (an image of another platform is an error)")
	fl.BoolVar(&i.insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry (loopback registries always may use HTTP)")
	fl.BoolVar(&i.noCache, "no-cache", false, "do not use or fill the per-layer analysis cache")
	fl.Int64Var(&i.maxFileSize, "max-file-size", layer.DefaultLimits().MaxFileSize, "largest file read from a layer, in `BYTES`; larger ones are skipped with a warning")
	fl.Int64Var(&i.maxLayerSize, "max-layer-size", layer.DefaultLimits().MaxLayerSize, "largest uncompressed layer read, in `BYTES` (decompression-bomb guard)")
}

// options are the scan options that read an image.
func (i *imageFlags) options(g *globalFlags, t scan.Target) (scan.Options, error) {
	if i.platform != "" && t.Kind == scan.FromDir {
		return scan.Options{}, &usageError{fmt.Errorf("--platform applies to images, not to --rootfs (an unpacked filesystem has one platform)")}
	}
	lim := layer.DefaultLimits()
	if i.maxFileSize > 0 { // 0: not registered (scan sbom)
		lim.MaxFileSize = i.maxFileSize
	}
	if i.maxLayerSize > 0 {
		lim.MaxLayerSize = i.maxLayerSize
	}
	return scan.Options{
		CacheDir:     g.cacheDir,
		NoLayerCache: i.noCache,
		Image:        image.Options{Platform: i.platform, Insecure: i.insecure, Logger: g.logger},
		Limits:       lim,
		Logger:       g.logger,
		Version:      version,
	}, nil
}

// scanFlags are the options of `scan image` and `scan sbom`: matching,
// filtering, the gate, the server.
type scanFlags struct {
	out           outputFlags
	img           imageFlags
	severity      string
	threshold     string
	ignoreUnfixed bool
	exitCode      int
	ignoreFile    string
	vexFile       string
	// allowNotAssessed lets --exit-code pass an image that could not be
	// assessed; by default a gate fails what it could not judge.
	allowNotAssessed bool
	srv              serverFlags
}

// register adds the scan flags; withImage adds how an image is read
// (not for an SBOM file).
func (s *scanFlags) register(cmd *cobra.Command, withImage bool) {
	s.out.register(cmd, "table", "table", "json", "sarif", "cyclonedx", "spdx-json")
	s.srv.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&s.severity, "severity", "", "report only these `LEVELS` (comma-separated: critical,high,medium,low,unknown)")
	fl.StringVar(&s.threshold, "threshold", "medium", "the image is unhealthy when an active finding is at or above this `LEVEL`: critical, high, medium, low, unknown")
	fl.BoolVar(&s.ignoreUnfixed, "ignore-unfixed", false, "drop findings that have no fixed version")
	fl.IntVar(&s.exitCode, "exit-code", 0, "exit with this `CODE` when the image is unhealthy or not assessed (CI gate)")
	fl.BoolVar(&s.allowNotAssessed, "allow-not-assessed", false, "with --exit-code: pass an image the DB could not assess (a distribution or ecosystem without advisories)")
	fl.StringVar(&s.ignoreFile, "ignore-file", "", "YAML or text `FILE` of vulnerability ids to ignore, with reason and expiry")
	fl.StringVar(&s.vexFile, "vex", "", "OpenVEX document `FILE`: not_affected and fixed statements suppress findings")
	if withImage {
		s.img.register(cmd)
	}
}

func (s *scanFlags) options(g *globalFlags, t scan.Target) (scan.Options, error) {
	if _, err := s.out.parse(); err != nil {
		return scan.Options{}, err
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
	opts, err := s.img.options(g, t)
	if err != nil {
		return scan.Options{}, err
	}
	opts.Threshold = th
	opts.Severities = sevs
	opts.IgnoreUnfixed = s.ignoreUnfixed
	opts.IgnoreFile = s.ignoreFile
	opts.VEXFile = s.vexFile
	return opts, nil
}

// run builds the options, produces the report, writes it and applies the
// gate: the shape of every scanning command.
func (s *scanFlags) run(cmd *cobra.Command, g *globalFlags, t scan.Target, produce func(scan.Options) (*model.Report, error)) error {
	opts, err := s.options(g, t)
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
		Short: "Scan a container image: registry REF, or --input FILE, --layout DIR, --docker NAME, --rootfs DIR",
		Example: `  bulwark scan image --input app.tar
  bulwark scan image 127.0.0.1:5000/app:1.2 --severity critical,high
  bulwark scan image --docker app:1.2 -f sarif -o app.sarif --exit-code 1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := src.target(args)
			if err != nil {
				return err
			}
			return f.run(cmd, g, t, func(opts scan.Options) (*model.Report, error) { return scan.Image(cmd.Context(), t, opts) })
		},
	}
	f.register(img, true)
	src.register(img)

	var sf scanFlags
	sb := &cobra.Command{
		Use:     "sbom FILE",
		Short:   "Scan the packages of a CycloneDX or SPDX JSON SBOM (ours, syft's or trivy's)",
		Example: `  bulwark scan sbom app.cdx.json --exit-code 1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.run(cmd, g, scan.Target{}, func(opts scan.Options) (*model.Report, error) { return scan.SBOM(cmd.Context(), args[0], opts) })
		},
	}
	sf.register(sb, false)
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
	cmd.Flags().StringVar(&s.input, "input", "", "image archive `FILE`: a \"docker save\" tarball or an OCI archive")
	cmd.Flags().StringVar(&s.layout, "layout", "", "OCI image layout `DIR`")
	cmd.Flags().StringVar(&s.docker, "docker", "", "image held by the local Docker engine (`NAME`, id or digest)")
	cmd.Flags().StringVar(&s.dir, "rootfs", "", "an unpacked root filesystem `DIR`")
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
	var out outputFlags
	var img imageFlags
	var src sourceFlags
	cmd := &cobra.Command{
		Use:   "sbom [REF]",
		Short: "Write an SBOM of an image (CycloneDX or SPDX JSON) without matching vulnerabilities",
		Example: `  bulwark sbom --input app.tar -o app.cdx.json
  bulwark sbom 127.0.0.1:5000/app:1.2 -f spdx-json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := src.target(args)
			if err != nil {
				return err
			}
			if _, err := out.parse(); err != nil {
				return err
			}
			opts, err := img.options(g, t)
			if err != nil {
				return err
			}
			rep, err := scan.Catalog(cmd.Context(), t, opts)
			if err != nil {
				return err
			}
			rep.Findings = nil
			return out.write(cmd, rep)
		},
	}
	// Only what an inventory is written as: no findings, so no gate,
	// filters or SARIF.
	out.register(cmd, "cyclonedx", "cyclonedx", "spdx-json", "json")
	img.register(cmd)
	src.register(cmd)
	return cmd
}
