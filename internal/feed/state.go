package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// State is what an incremental download (NVD, Red Hat VEX) remembers
// between updates: how far the data it holds reaches.
type State struct {
	Until time.Time `json:"until"`
}

// ReadState reads the state file; a missing file is the zero state (a
// full fetch). It lives beside the pages' folder, not in it, so imports
// never see it.
func ReadState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read feed state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("read feed state %s: %w", path, err)
	}
	return s, nil
}

// WriteState records a finished fetch.
func WriteState(path string, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write feed state: %w", err)
	}
	return os.Rename(tmp, path)
}
