package main

import (
	"archive/tar"
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

// runAll executes the CLI in-process as main does and returns stdout,
// stderr (error message, usage hint and log lines) and the exit code.
func runAll(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(context.Background())
	code = exitStatus(&errb, cmd, err)
	return out.String(), errb.String(), code
}

// amd64Archive writes a real single-platform (linux/amd64) docker-save
// archive.
func amd64Archive(t *testing.T, path string) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, nil, img); err != nil {
		t.Fatal(err)
	}
}

// TestCLIErrors: every error a new user meets names the problem once,
// says what was expected and what to do, with the documented exit code
// (2 for usage errors, unknown commands included). Output is compared
// with testdata/cli/<name>.golden (go test ./cmd/bulwark -run CLIErrors
// -update rewrites them).
func TestCLIErrors(t *testing.T) {
	cache, feeds, root := fixture(t)
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	write(t, text, "this is not an image\n")
	gz := filepath.Join(dir, "image.tar.gz")
	write(t, gz, "\x1f\x8b\x08\x00\x00\x00\x00\x00")
	rootfsTar := filepath.Join(dir, "rootfs.tar")
	rootfsTarOf(t, rootfsTar, "etc/os-release", "ID=debian\n")
	amd64 := filepath.Join(dir, "amd64.tar")
	amd64Archive(t, amd64)
	empty := filepath.Join(dir, "empty-cache")

	tests := []struct {
		name string
		args []string
		code int
		once string // must appear exactly once in stderr (a path)
	}{
		{"unknown-command", []string{"foo"}, 2, ""},
		{"unknown-command-typo", []string{"scna"}, 2, ""},
		{"unknown-subcommand", []string{"scan", "foo"}, 2, ""},
		{"unknown-flag", []string{"scan", "image", "--nope"}, 2, ""},
		{"image-is-text", []string{"--cache-dir", cache, "scan", "image", "--input", text}, 1, text},
		{"image-missing", []string{"--cache-dir", cache, "scan", "image", "--input", filepath.Join(dir, "missing.tar")}, 1, filepath.Join(dir, "missing.tar")},
		{"image-gzip", []string{"--cache-dir", cache, "scan", "image", "--input", gz}, 1, gz},
		{"image-rootfs-tar", []string{"--cache-dir", cache, "scan", "image", "--input", rootfsTar}, 1, rootfsTar},
		{"image-directory", []string{"--cache-dir", cache, "scan", "image", "--input", root}, 1, root},
		{"image-platform-mismatch", []string{"--cache-dir", cache, "scan", "image", "--input", amd64, "--platform", "linux/arm64"}, 1, amd64},
		{"sbom-platform-mismatch", []string{"--cache-dir", cache, "sbom", "--input", amd64, "--platform", "linux/arm64"}, 1, amd64},
		{"platform-with-rootfs", []string{"--cache-dir", cache, "scan", "image", "--rootfs", root, "--platform", "linux/arm64"}, 2, ""},
		{"no-image", []string{"--cache-dir", cache, "scan", "image"}, 2, ""},
		{"sbom-exit-code", []string{"sbom", "--input", amd64, "--exit-code", "4"}, 2, ""},
		{"sbom-format-sarif", []string{"sbom", "--input", amd64, "-f", "sarif"}, 2, ""},
		{"sbom-severity", []string{"sbom", "--input", amd64, "--severity", "high"}, 2, ""},
		{"scan-format", []string{"--cache-dir", cache, "scan", "image", "--rootfs", root, "-f", "xml"}, 2, ""},
		{"db-update-missing-source", []string{"--cache-dir", empty, "db", "update", "--source", filepath.Join(dir, "nonexistent")}, 1, filepath.Join(dir, "nonexistent")},
		{"db-status-no-db", []string{"--cache-dir", empty, "db", "status"}, 1, filepath.Join(empty, "db")},
		{"scan-no-db", []string{"--cache-dir", empty, "scan", "image", "--rootfs", root}, 1, filepath.Join(empty, "db")},
		{"bench-docker-unknown-check", []string{"bench", "docker", "--checks", "99.99"}, 2, ""},
		{"bench-docker-unknown-exclude", []string{"bench", "docker", "--exclude", "1.1.99"}, 2, ""},
		{"bench-k8s-unknown-check", []string{"bench", "k8s", "--checks", "9.9"}, 2, ""},
		{"scan-k8s-missing-file", []string{"scan", "k8s", filepath.Join(dir, "missing.yaml")}, 1, filepath.Join(dir, "missing.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runAll(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if tt.once != "" && strings.Count(stderr, tt.once) != 1 {
				t.Errorf("stderr names %s %d times, want once:\n%s", tt.once, strings.Count(stderr, tt.once), stderr)
			}
			if strings.Count(stderr, "bulwark:") != 1 {
				t.Errorf("want exactly one error message, got:\n%s", stderr)
			}
			if strings.Contains(stderr, "level=") {
				t.Errorf("a log line repeats the error:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("an error printed a report too:\n%s", stdout)
			}
			got := strings.NewReplacer(dir, "$DIR", filepath.Dir(cache), "$FIXTURE").Replace(
				"exit " + strconv.Itoa(code) + "\n" + stderr)
			cliGolden(t, tt.name+".golden", got)
		})
	}
}

// TestCLIHelp reads every command's help as a user would: boolean flags
// without a value placeholder, value names that are names (a back-quoted
// word in a usage string becomes the placeholder), and an example that
// parses for the commands a new user starts with.
func TestCLIHelp(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		var out bytes.Buffer
		c.SetOut(&out)
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		help := out.String()
		if m := goTypePlaceholder.FindString(help); m != "" {
			t.Errorf("%s --help shows a Go type as a flag's value (%q): name what it is", c.CommandPath(), m)
		}
		if strings.Contains(help, "[=true|false]") {
			t.Errorf("%s --help shows [=true|false]:\n%s", c.CommandPath(), help)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " ") {
				t.Errorf("%s --%s: placeholder %q (a back-quoted phrase in the usage string)", c.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	for _, args := range [][]string{{"scan", "image", "--help"}, {"sbom", "--help"}, {"scan", "--help"}} {
		stdout, stderr, code := runAll(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		cliGolden(t, "help-"+strings.Join(args[:len(args)-1], "-")+".golden", stdout)
	}
	// No arguments: the group's help, exit 0.
	if stdout, _, code := runAll(t, "db"); code != 0 || !strings.Contains(stdout, "Available Commands") {
		t.Errorf("bulwark db: exit %d\n%s", code, stdout)
	}
}

// TestCLIExamples: every example in every command's help names a command
// that exists, with flags it takes and arguments it accepts.
func TestCLIExamples(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.Example, "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && f[0] == "bulwark" && !strings.ContainsAny(line, "…|<>") {
				paths = append(paths, f[1:])
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if len(paths) < 4 {
		t.Fatalf("only %d examples found", len(paths))
	}
	for _, args := range paths {
		root := newRootCmd()
		c, rest, err := root.Find(args)
		if err != nil {
			t.Errorf("example %v: %v", args, err)
			continue
		}
		if err := c.ParseFlags(rest); err != nil {
			t.Errorf("example %v: %v", args, err)
			continue
		}
		if err := c.ValidateArgs(c.Flags().Args()); err != nil {
			t.Errorf("example %v: %v", args, err)
		}
	}
}

// TestCLIScanSeverityUnknown: --severity unknown keeps only findings of
// unknown severity, as the other levels do.
func TestCLIScanSeverityUnknown(t *testing.T) {
	cache, feeds, root := fixture(t)
	write(t, filepath.Join(feeds, "ghsa", "GHSA-test-0000-0002.json"), `{
  "schema_version": "1.6.0", "id": "GHSA-test-0000-0002", "aliases": ["CVE-2099-0003"],
  "details": "a lodash advisory with no summary and no severity, whose details run on and on so that the table must cut them short somewhere",
  "modified": "2099-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.6"}]}]}]
}`)
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	out, code := run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--severity", "unknown")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "CVE-2099-0003") || strings.Contains(out, "CVE-2099-0001") || strings.Contains(out, "CVE-2099-0002") {
		t.Errorf("--severity unknown should keep only CVE-2099-0003:\n%s", out)
	}
	// A finding without a title: its advisory's address beside the
	// shortened description.
	if !strings.Contains(out, "https://nvd.nist.gov/vuln/detail/CVE-2099-0003") {
		t.Errorf("no advisory URL beside the untitled finding:\n%s", out)
	}
}

// cliGolden compares got with testdata/cli/name (-update rewrites it).
func cliGolden(t *testing.T, name, got string) {
	t.Helper()
	sourcetest.Golden(t, filepath.Join("testdata", "cli", name), []byte(got))
}

// rootfsTarOf writes a tar of one file: a root filesystem, not an image.
func rootfsTarOf(t *testing.T, path, name, body string) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, path, b.String())
}

// goTypePlaceholder is pflag's default value name: the flag's Go type.
var goTypePlaceholder = regexp.MustCompile(`--[a-z0-9-]+ (string|strings|int|int64|uint|duration|stringArray|stringSlice|float)\s`)
