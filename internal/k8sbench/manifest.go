package k8sbench

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// staticPod is the part of a static pod manifest the checks read.
type staticPod struct {
	Spec struct {
		Containers []struct {
			Name    string   `yaml:"name"`
			Command []string `yaml:"command"`
			Args    []string `yaml:"args"`
		} `yaml:"containers"`
	} `yaml:"spec"`
}

// ParseManifestArgs returns the command line of a static pod manifest's
// first container (command then args, as the kubelet starts it), for a node
// whose component is not running or whose /proc is not visible.
func ParseManifestArgs(b []byte) ([]string, error) {
	var p staticPod
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse static pod manifest: %w", err)
	}
	if len(p.Spec.Containers) == 0 {
		return nil, fmt.Errorf("parse static pod manifest: no containers")
	}
	c := p.Spec.Containers[0]
	return append(append([]string(nil), c.Command...), c.Args...), nil
}
