package advisory

import (
	"context"
	"sort"
	"sync"
)

// Reader is what the matcher needs from a vulnerability DB: lookups by
// (ecosystem, package name) and by vulnerability id.
type Reader interface {
	// Affected returns every entry for the package in the ecosystem; the
	// ecosystem is exact ("Debian:12"). Unknown packages give (nil, nil).
	Affected(ctx context.Context, ecosystem, pkg string) ([]Affected, error)
	// Vulnerability returns the record for id, or ok=false.
	Vulnerability(ctx context.Context, id string) (v Vulnerability, ok bool, err error)
}

// Memory is an in-memory Sink and Reader, for tests and small imports. It
// merges repeated vulnerabilities with Merge.
type Memory struct {
	mu       sync.Mutex
	vulns    map[string]Vulnerability
	affected map[string][]Affected // ecosystem + "\x00" + package
}

var (
	_ Sink   = (*Memory)(nil)
	_ Reader = (*Memory)(nil)
)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{vulns: map[string]Vulnerability{}, affected: map[string][]Affected{}}
}

func (m *Memory) Vulnerability(ctx context.Context, id string) (Vulnerability, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vulns[id]
	return v, ok, nil
}

func (m *Memory) Affected(ctx context.Context, ecosystem, pkg string) ([]Affected, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Affected(nil), m.affected[ecosystem+"\x00"+pkg]...), nil
}

// PutVulnerability implements Sink.
func (m *Memory) PutVulnerability(ctx context.Context, v Vulnerability) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.vulns[v.ID]; ok {
		v = Merge(old, v)
	}
	m.vulns[v.ID] = v
	return nil
}

// PutAffected implements Sink.
func (m *Memory) PutAffected(ctx context.Context, a Affected) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := a.Ecosystem + "\x00" + a.Package
	m.affected[k] = append(m.affected[k], a)
	return nil
}

// Counts returns the number of affected entries per ecosystem.
func (m *Memory) Counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, as := range m.affected {
		for _, a := range as {
			out[a.Ecosystem]++
		}
	}
	return out
}

// IDs returns all vulnerability ids, sorted.
func (m *Memory) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.vulns))
	for id := range m.vulns {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
