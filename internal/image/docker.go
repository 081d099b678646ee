package image

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/client"
)

const defaultDockerHost = "unix:///var/run/docker.sock"

// Docker opens an image held by the local Docker engine. Layers are streamed
// from `docker save` when read, not buffered; layer (compressed) digests are
// not reported because the engine does not keep them.
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
	img, err := daemon.Image(r, daemon.WithContext(ctx), daemon.WithClient(cli), daemon.WithUnbufferedOpener())
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("open %s from docker engine %s: %w", ref, host, err)
	}
	out := &Opened{Image: img}
	out.Info.Reference = ref
	out.Info.Source = "docker"
	out.Info.RepoTags = insp.RepoTags
	out.Info.RepoDigests = insp.RepoDigests
	// The engine holds no manifest of its own; a pulled image's manifest
	// digest is the one its RepoDigests name.
	if len(insp.RepoDigests) > 0 {
		if d, err := name.NewDigest(insp.RepoDigests[0]); err == nil {
			out.Info.Digest = d.DigestStr()
		}
	}
	if err := describe(img, &out.Info, false); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	out.Info.Size = insp.Size
	// ggcr rebuilds the config's history from the engine's history API,
	// which lists newest first; put it back in build order before pairing
	// it with the layers.
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", ref, err)
	}
	slices.Reverse(cfg.History)
	out.Info.Layers = describeLayers(cfg, nil)
	return out, nil
}
