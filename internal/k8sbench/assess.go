package k8sbench

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Config is one `bench k8s` run.
type Config struct {
	// Node collects the node's facts (NodeOptions) when true.
	Node        bool
	NodeOptions NodeOptions
	// API is nil for node checks only.
	API          *APIOptions
	Profile      Profile
	AllowedPorts []int32
	Options      Options
	Logger       *slog.Logger
}

// DefaultAllowedPorts are the ports an exposed Service may use without
// BW-K8S-CLUSTER-SERVICE-PORTS complaining.
var DefaultAllowedPorts = []int32{80, 443}

// Assess collects and evaluates: the library entry point behind
// `bulwark bench k8s`, returning the report the server ingests. It fails
// only when nothing could be collected (the host root or the API server
// unreachable); partial data shows on the controls that needed it.
func Assess(ctx context.Context, cfg Config, now time.Time) (*Report, error) {
	s, err := Collect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return Run(s, cfg.Options, now), nil
}

// Collect gathers the snapshot Run evaluates.
func Collect(ctx context.Context, cfg Config) (*Snapshot, error) {
	s := &Snapshot{Profile: cfg.Profile, AllowedPorts: cfg.AllowedPorts, Missing: map[Source]string{}, Failed: map[Source]string{}}
	if s.Profile.Name == "" {
		s.Profile = Profiles["generic"]
	}
	if s.AllowedPorts == nil {
		s.AllowedPorts = DefaultAllowedPorts
	}
	type nodeResult struct {
		n   *Node
		err error
	}
	nodeCh := make(chan nodeResult, 1)
	if cfg.Node {
		o := cfg.NodeOptions
		if o.Logger == nil {
			o.Logger = cfg.Logger
		}
		// The node and the API are read at once: a full run costs the
		// slower of the two, not their sum.
		go func() { n, err := CollectNode(ctx, o); nodeCh <- nodeResult{n, err} }()
	}
	if cfg.API != nil {
		o := *cfg.API
		if o.Logger == nil {
			o.Logger = cfg.Logger
		}
		c, missing, failed, err := CollectCluster(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("read the cluster: %w", err)
		}
		s.Cluster = c
		for k, v := range missing {
			s.Missing[k] = v
		}
		for k, v := range failed {
			s.Failed[k] = v
		}
	}
	if cfg.Node {
		r := <-nodeCh
		if r.err != nil {
			return nil, fmt.Errorf("read the node: %w", r.err)
		}
		s.Node = r.n
	}
	return s, nil
}
