package memtrim

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func releaseExecutable() (Stats, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Stats{}, fmt.Errorf("finding the executable: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return Stats{}, fmt.Errorf("reading the process's mappings: %w", err)
	}
	regions, skipped, err := Select(f, exe)
	f.Close()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Skipped: skipped}
	for _, r := range regions {
		if r.Rss == 0 {
			continue
		}
		// The range is a whole mapping, page-aligned by the kernel; it is
		// not Go memory, so it is passed as numbers, not as a slice.
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(r.Start), uintptr(r.End-r.Start), unix.MADV_DONTNEED); e != 0 {
			return st, fmt.Errorf("dropping mapping %x-%x of %s: %w", r.Start, r.End, exe, e)
		}
		st.Mappings++
		st.Mapped += r.Rss
	}
	return st, nil
}
