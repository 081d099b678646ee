// Package memtrim gives back, after a burst of work, the memory a
// long-running process touched for the burst and does not need while
// idle: the heap the burst grew, and the process's mappings of the
// binary's code and read-only data.
//
// The second is why an idle agent's RSS is a third of what it was. Go
// runs the init of every package linked into the one binary (about 500,
// whatever the command), and those init functions, their tables and the
// runtime's metadata for them are spread over the whole executable, so
// start-up alone maps ~45 MiB of it (more where the kernel maps whole
// large folios on a fault). An idle agent runs a small fraction of that
// code. Dropping the mappings (MADV_DONTNEED on the executable's
// private, never-written segments) leaves the pages in the page cache:
// what the agent runs again is mapped back by a minor fault, and what it
// does not is, unmapped, the cheapest memory for the kernel to reclaim.
package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
)

// Stats says what one Release gave back.
type Stats struct {
	// Mappings is how many executable mappings were dropped, Mapped their
	// resident bytes before (a page the process needs again is mapped
	// back); Skipped counts read-only mappings of the executable left
	// alone because they hold private copies (a debugger's breakpoint, a
	// relocation), which dropping would lose.
	Mappings, Skipped int
	Mapped            int64
}

// Release returns the heap's free memory to the OS and drops the
// process's mappings of its own executable's read-only segments. Safe at
// any time from any goroutine; a few milliseconds on an agent's heap.
func Release() (Stats, error) {
	debug.FreeOSMemory()
	return releaseExecutable()
}

// Region is one mapping to drop.
type Region struct {
	Start, End uint64
	Rss        int64 // resident bytes before
}

// Select reads /proc/PID/smaps and returns the mappings of exe that may
// be dropped without losing anything: private, not writable, and holding
// no anonymous (copied-on-write) page, so every page is the file's and a
// fault maps it back unchanged. skipped counts the executable's read-only
// mappings refused for holding private copies.
func Select(smaps io.Reader, exe string) (regions []Region, skipped int, err error) {
	sc := bufio.NewScanner(smaps)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var cur *Region
	var eligible bool
	var anon int64
	flush := func() {
		if cur != nil && eligible {
			if anon == 0 {
				regions = append(regions, *cur)
			} else {
				skipped++
			}
		}
		cur, eligible, anon = nil, false, 0
	}
	for sc.Scan() {
		line := sc.Bytes()
		if start, end, perms, path, ok := mappingHeader(line); ok {
			flush()
			cur = &Region{Start: start, End: end}
			eligible = len(perms) == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && samePath(path, exe)
			continue
		}
		if cur == nil {
			continue
		}
		if v, ok := field(line, "Rss:"); ok {
			cur.Rss = v
		} else if v, ok := field(line, "Anonymous:"); ok {
			anon = v
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading smaps: %w", err)
	}
	return regions, skipped, nil
}

// samePath compares a mapping's path with the executable's; a binary
// replaced on disk while running (an upgrade) is mapped as "PATH (deleted)",
// and its pages stay reachable through the mapping's open file.
func samePath(mapped, exe string) bool {
	return exe != "" && strings.TrimSuffix(mapped, " (deleted)") == strings.TrimSuffix(exe, " (deleted)")
}

// mappingHeader parses an smaps mapping line:
// "START-END PERMS OFFSET DEV INODE [PATH]".
func mappingHeader(line []byte) (start, end uint64, perms, path string, ok bool) {
	dash := bytes.IndexByte(line, '-')
	sp := bytes.IndexByte(line, ' ')
	if dash <= 0 || sp <= dash {
		return 0, 0, "", "", false
	}
	var err error
	if start, err = strconv.ParseUint(string(line[:dash]), 16, 64); err != nil {
		return 0, 0, "", "", false
	}
	if end, err = strconv.ParseUint(string(line[dash+1:sp]), 16, 64); err != nil || end < start {
		return 0, 0, "", "", false
	}
	rest := line[sp+1:]
	fields := 0
	for fields < 4 {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			if fields == 3 { // no path
				return start, end, perms, "", true
			}
			return 0, 0, "", "", false
		}
		if fields == 0 {
			perms = string(rest[:i])
		}
		rest = bytes.TrimLeft(rest[i+1:], " ")
		fields++
	}
	return start, end, perms, string(rest), true
}

// field parses "Name:   123 kB" into bytes.
func field(line []byte, name string) (int64, bool) {
	if !bytes.HasPrefix(line, []byte(name)) {
		return 0, false
	}
	f := bytes.Fields(line[len(name):])
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, false
	}
	v, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v << 10, true
}
