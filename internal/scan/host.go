package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/catalog/ospkg"
	"github.com/bulwarkdev/bulwark/internal/distro"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// FromHost is the ImageInfo source of a host's own OS inventory.
const FromHost = "host"

// hostDBPaths are where the OS package databases live below a root: the
// files and directories the OS catalogers read.
var hostDBPaths = []string{
	"var/lib/dpkg/status", "var/lib/dpkg/status.d", // Debian, Ubuntu, distroless
	"lib/apk/db/installed",                // Alpine
	"var/lib/rpm", "usr/lib/sysimage/rpm", // RHEL, Fedora, SUSE, Amazon Linux
}

// HostPaths are the paths a host inventory reads below its root: the
// package databases and the release files.
func HostPaths() []string { return append(append([]string(nil), hostDBPaths...), distro.Paths()...) }

// Host inventories the OS packages of a host's root filesystem (root is
// "/" on the host, or where the host's / is mounted in a container): the
// same directory analysis as `scan image --rootfs`, with the OS catalogers
// only and reading only HostPaths, so neither /proc nor the engine's image
// store (whose layers hold other systems' databases) is walked. The
// report's resource is left for the caller to name (the host).
func Host(ctx context.Context, root string, opts Options) (*model.Report, error) {
	opts.defaults()
	tab, err := catalog.NewTable(ospkg.Dpkg(), ospkg.APK(), ospkg.RPM())
	if err != nil {
		return nil, fmt.Errorf("build OS cataloger table: %w", err)
	}
	opts.only = HostPaths()
	rep, err := catalogWith(ctx, Target{Kind: FromDir, Ref: root}, tab, opts)
	if err != nil {
		return nil, err
	}
	rep.Image.Source = FromHost
	rep.Resource = model.Resource{}
	return rep, nil
}

// HostFingerprint hashes the names, sizes and modification times of the
// files Host reads: while it is unchanged, so is the host's inventory
// (package managers rewrite their database on every change).
func HostFingerprint(root string) (string, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", fmt.Errorf("open host root %s: %w", root, err)
	}
	defer r.Close()
	h := sha256.New()
	note := func(p string, fi fs.FileInfo) {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\n", p, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
	}
	for _, p := range HostPaths() {
		fi, err := r.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("stat %s under %s: %w", p, root, err)
		}
		note(p, fi)
		if !fi.IsDir() {
			continue
		}
		// A directory database (status.d, rpm): its files, one level.
		entries, err := fs.ReadDir(r.FS(), p)
		if err != nil {
			return "", fmt.Errorf("read %s under %s: %w", p, root, err)
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				note(p+"/"+e.Name(), fi)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
