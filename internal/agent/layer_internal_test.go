package agent

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"

	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestLayerInventoryMatchesExport: a `docker import`ed image read in
// place from the engine's storage gives the inventory the export (docker
// save) gives: the same packages at the same paths, the same OS and
// image identity; and it is faster.
func TestLayerInventoryMatchesExport(t *testing.T) {
	testenv.Docker(t)
	tarPath := testenv.DebianRootfs(t, "bookworm-minbase")
	tag := fmt.Sprintf("bw14d-layer:%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "import", tarPath, tag).CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() }) //nolint:errcheck
	out, _ := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", tag).Output()
	id := strings.TrimSpace(string(out))
	cli, err := mobyclient.New(mobyclient.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	a := &dockerAgent{o: DockerOptions{Root: "/"}, cli: cli, scan: scan.Options{NoLayerCache: true}}
	ctx := context.Background()
	t0 := time.Now()
	fast, err := a.layerInventory(ctx, id, tag)
	tFast := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if fast == nil {
		testenv.Skipf(t, "this engine's storage does not show the image's layer as a directory")
	}
	t0 = time.Now()
	slow, err := scan.Catalog(ctx, scan.Target{Kind: scan.FromDocker, Ref: tag}, a.scan)
	tSlow := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	pk := func(ps []string) []string { slices.Sort(ps); return ps }
	var fk, sk []string
	for _, p := range fast.Packages {
		fk = append(fk, fmt.Sprintf("%s %s %s %s %s", p.Type, p.Name, p.Version, p.Path, p.Layer.DiffID))
	}
	for _, p := range slow.Packages {
		diff := ""
		if p.Layer != nil {
			diff = p.Layer.DiffID
		}
		sk = append(sk, fmt.Sprintf("%s %s %s %s %s", p.Type, p.Name, p.Version, p.Path, diff))
	}
	if !slices.Equal(pk(fk), pk(sk)) || len(fk) < 50 {
		t.Errorf("packages differ: in place %d, exported %d\nfirst in place: %v\nfirst exported: %v", len(fk), len(sk), fk[:min(3, len(fk))], sk[:min(3, len(sk))])
	}
	if fast.Image.ConfigDigest != slow.Image.ConfigDigest || fast.Resource.ID != slow.Resource.ID || fast.Distro.PrettyName != slow.Distro.PrettyName ||
		fast.Image.Platform != slow.Image.Platform || !slices.Equal(fast.Image.RepoTags, slow.Image.RepoTags) {
		t.Errorf("identity differs:\nin place %+v %+v\nexported %+v %+v", fast.Image, fast.Resource, slow.Image, slow.Resource)
	}
	t.Logf("in place %s, exported %s (%d packages)", tFast, tSlow, len(fk))
}
