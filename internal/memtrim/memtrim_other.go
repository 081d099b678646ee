//go:build !linux

package memtrim

// releaseExecutable: only Linux is known to map the executable this way.
func releaseExecutable() (Stats, error) { return Stats{}, nil }
