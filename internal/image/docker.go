package image

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/client"

	"github.com/bulwarkdev/bulwark/internal/progress"
)

const defaultDockerHost = "unix:///var/run/docker.sock"

// Docker opens an image held by the local Docker engine: it is saved once
// to a temporary archive (removed by Opened.Close) and read from there.
// Layer (compressed) digests are not reported because the engine does not
// keep them.
func Docker(ctx context.Context, ref string, o Options) (*Opened, error) {
	o.normalise()
	host := o.DockerHost
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = defaultDockerHost
	}
	cli, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		return nil, fmt.Errorf("connect to docker engine %s: %w", host, err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	insp, err := cli.ImageInspect(ctx, r.Name())
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("inspect %s in docker engine %s: %w", ref, host, err)
	}
	// One `docker save` into a temporary archive, then the archive reader:
	// go-containerregistry's daemon source would re-run the save for every
	// layer it reads (or buffer it in memory), and it rebuilds the history
	// from the engine in the wrong order.
	out, err := saveToArchive(ctx, cli, r.Name(), o)
	cli.Close()
	if err != nil {
		return nil, fmt.Errorf("save %s from docker engine %s: %w", ref, host, err)
	}
	out.Info.Reference = ref
	out.Info.Source = "docker"
	out.Info.RepoTags = insp.RepoTags
	out.Info.RepoDigests = insp.RepoDigests
	out.Info.Size = insp.Size
	// The engine holds no manifest of its own; a pulled image's manifest
	// digest is the one its RepoDigests name.
	out.Info.Digest = ""
	if len(insp.RepoDigests) > 0 {
		if d, err := name.NewDigest(insp.RepoDigests[0]); err == nil {
			out.Info.Digest = d.DigestStr()
		}
	}
	return out, nil
}

// saveToArchive streams `docker save` of one image into a temporary file
// and opens it with Tarball; Close removes the file.
func saveToArchive(ctx context.Context, cli *client.Client, ref string, o Options) (*Opened, error) {
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "bulwark-docker-save-*.tar")
	if err != nil {
		return nil, fmt.Errorf("create temporary archive: %w", err)
	}
	remove := func() error { return os.Remove(f.Name()) }
	bar := progress.Start(ctx, "export the image from the docker engine", -1, true)
	_, err = io.Copy(f, progress.Reader(rc, bar))
	bar.Finish()
	if err != nil {
		f.Close()
		remove()
		return nil, fmt.Errorf("copy saved image: %w", err)
	}
	if err := f.Close(); err != nil {
		remove()
		return nil, err
	}
	out, err := Tarball(ctx, f.Name(), o)
	if err != nil {
		remove()
		return nil, err
	}
	prev := out.cleanup
	out.cleanup = func() error {
		if prev != nil {
			prev()
		}
		return remove()
	}
	return out, nil
}
