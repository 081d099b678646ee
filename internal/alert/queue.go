package alert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The webhook's queue is one file per alert in a directory, named by a
// sequence number (%020d.alert) so a directory listing sorted by name is the
// delivery order. Each file is written to a temporary name, fsynced, renamed
// and the directory fsynced, so after a crash a file either holds a whole
// record or is a leftover *.tmp (removed at start). One file per alert means
// a damaged file can only ever lose itself, and delivery is one unlink.
//
// A record is: "BWQ1", uint32 big-endian payload length, uint32 CRC-32C of
// the payload, the payload (the alert's JSON document).

const (
	recordMagic  = "BWQ1"
	recordHeader = 12
	queueExt     = ".alert"
	corruptExt   = ".corrupt"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeRecord(payload []byte) []byte {
	b := make([]byte, recordHeader, recordHeader+len(payload))
	copy(b, recordMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// decodeRecord checks one queue file's bytes and returns the payload.
func decodeRecord(b []byte) ([]byte, error) {
	if len(b) < recordHeader {
		return nil, fmt.Errorf("truncated record: %d bytes, header needs %d", len(b), recordHeader)
	}
	if string(b[:4]) != recordMagic {
		return nil, fmt.Errorf("not a queue record: magic %q", b[:4])
	}
	n := binary.BigEndian.Uint32(b[4:])
	if rest := uint64(len(b) - recordHeader); uint64(n) != rest {
		return nil, fmt.Errorf("record length %d, file holds %d payload bytes (truncated or trailing data)", n, rest)
	}
	payload := b[recordHeader:]
	if sum := crc32.Checksum(payload, castagnoli); sum != binary.BigEndian.Uint32(b[8:]) {
		return nil, fmt.Errorf("record checksum %08x, payload sums to %08x", binary.BigEndian.Uint32(b[8:]), sum)
	}
	// A gzip member (WebhookOptions.Gzip) is checked by its CRC above and
	// by gzip's own when sent.
	if !json.Valid(payload) && !(len(payload) > 2 && payload[0] == 0x1f && payload[1] == 0x8b) {
		return nil, errors.New("record payload is neither JSON nor gzip")
	}
	return payload, nil
}

type queueEntry struct {
	seq  uint64
	size int64
}

// diskQueue is the bounded, ordered, durable queue of undelivered alerts.
type diskQueue struct {
	dir string
	max int64
	log *slog.Logger

	mu      sync.Mutex
	entries []queueEntry // by seq
	bytes   int64
	next    uint64
	pinned  uint64 // seq being delivered right now; never dropped; 0 = none
	dropped int64
	corrupt int64

	// diskFull is set while writes meet ENOSPC (one episode): the oldest
	// entries are dropped to make room, logged once per episode.
	diskFull        bool
	diskFullDropped int64 // in all episodes (also counted in dropped)
	episodeDropped  int64
}

// openQueue loads the queue in dir, creating it. Damaged files are logged,
// renamed to *.corrupt (kept for a human) and counted; the others load.
func openQueue(dir string, max int64, log *slog.Logger) (*diskQueue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating alert queue %s: %w", dir, err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading alert queue %s: %w", dir, err)
	}
	q := &diskQueue{dir: dir, max: max, log: log, next: 1}
	for _, de := range des {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			// A write that never reached its rename: the sender was told it failed.
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, ok := parseQueueName(name)
		if !ok {
			continue
		}
		if seq >= q.next {
			q.next = seq + 1
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			_, err = decodeRecord(b)
		}
		if err != nil {
			q.quarantine(name, err)
			continue
		}
		q.entries = append(q.entries, queueEntry{seq: seq, size: int64(len(b))})
		q.bytes += int64(len(b))
	}
	slices.SortFunc(q.entries, func(a, b queueEntry) int { return cmpUint(a.seq, b.seq) })
	q.mu.Lock()
	q.makeRoomLocked(0)
	q.mu.Unlock()
	if len(q.entries) > 0 {
		log.Info("alert queue reloaded", "dir", dir, "alerts", len(q.entries), "bytes", q.bytes)
	}
	return q, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseQueueName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, queueExt)
	if !ok || len(s) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	return seq, err == nil && seq > 0
}

func queueName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, queueExt) }

func (q *diskQueue) quarantine(name string, why error) {
	q.corrupt++
	p := filepath.Join(q.dir, name)
	q.log.Error("alert queue: damaged entry skipped", "file", p, "err", why)
	if err := os.Rename(p, p+corruptExt); err != nil {
		q.log.Error("alert queue: setting damaged entry aside", "file", p, "err", err)
		_ = os.Remove(p)
	}
}

// push stores payload durably at the tail. When the queue would exceed its
// bound, the oldest entries (other than the one in flight) are dropped, each
// with an error log.
func (q *diskQueue) push(payload []byte) error {
	rec := encodeRecord(payload)
	if int64(len(rec)) > q.max {
		return fmt.Errorf("payload of %d bytes is larger than the whole queue (%d bytes)", len(rec), q.max)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.makeRoomLocked(int64(len(rec)))
	seq := q.next
	name := queueName(seq)
	err := writeFileSync(q.dir, name, rec)
	if err == nil {
		q.wroteLocked()
	} else if errors.Is(err, syscall.ENOSPC) && q.freeDiskLocked(int64(len(rec)), err) {
		err = writeFileSync(q.dir, name, rec) // once: a disk filled by others may still refuse
	}
	if err != nil {
		return fmt.Errorf("queueing in %s: %w", q.dir, err)
	}
	q.next++
	q.entries = append(q.entries, queueEntry{seq: seq, size: int64(len(rec))})
	q.bytes += int64(len(rec))
	return nil
}

// pushBatch is push for several payloads, made cheap for bursts: the
// files are written, then fsynced concurrently (the file system commits
// them together), renamed in order, and the directory fsynced once.
// errs[i] is payload i's error; the others are queued.
func (q *diskQueue) pushBatch(payloads [][]byte) (errs []error) {
	errs = make([]error, len(payloads))
	q.mu.Lock()
	defer q.mu.Unlock()
	type pending struct {
		i    int
		seq  uint64
		size int64
		f    *os.File
	}
	var ps []pending
	for i, payload := range payloads {
		rec := encodeRecord(payload)
		if int64(len(rec)) > q.max {
			errs[i] = fmt.Errorf("payload of %d bytes is larger than the whole queue (%d bytes)", len(rec), q.max)
			continue
		}
		seq := q.next + uint64(len(ps))
		f, err := writeTmp(q.dir, seq, rec)
		if err == nil {
			q.wroteLocked()
		} else if errors.Is(err, syscall.ENOSPC) && q.freeDiskLocked(int64(len(rec)), err) {
			f, err = writeTmp(q.dir, seq, rec)
		}
		if err != nil {
			errs[i] = fmt.Errorf("queueing in %s: %w", q.dir, err)
			continue
		}
		ps = append(ps, pending{i: i, seq: seq, size: int64(len(rec)), f: f})
	}
	syncErrs := make([]error, len(ps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for j := range ps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			syncErrs[j] = ps[j].f.Sync()
			if err := ps[j].f.Close(); syncErrs[j] == nil {
				syncErrs[j] = err
			}
		}()
	}
	wg.Wait()
	renamed := 0
	for j, p := range ps {
		tmp := p.f.Name()
		err := syncErrs[j]
		if err == nil {
			q.makeRoomLocked(p.size)
			err = os.Rename(tmp, filepath.Join(q.dir, queueName(p.seq)))
		}
		if err != nil {
			_ = os.Remove(tmp)
			errs[p.i] = fmt.Errorf("queueing in %s: %w", q.dir, err)
			continue
		}
		q.entries = append(q.entries, queueEntry{seq: p.seq, size: p.size})
		q.bytes += p.size
		renamed++
	}
	q.next += uint64(len(ps)) // failed ones leave a gap in the sequence: harmless
	if renamed > 0 {
		if err := syncDir(q.dir); err != nil {
			// Queued, but a crash may lose them: the senders are told.
			for _, p := range ps {
				if errs[p.i] == nil {
					errs[p.i] = fmt.Errorf("syncing queue %s: %w", q.dir, err)
				}
			}
		}
	}
	return errs
}

// writeTmp writes rec to the temporary file of seq, left open for the
// caller to sync.
func writeTmp(dir string, seq uint64, rec []byte) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, queueName(seq)+".tmp"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err = f.Write(rec); err != nil {
		f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// diskBlock is what one small queue file costs the file system at least:
// dropping entries frees blocks, not bytes.
const diskBlock = 4096

// freeDiskLocked answers a write that failed with ENOSPC: it drops the
// oldest entries (never the one in flight) until they free room for need
// bytes, so new detections are kept rather than old ones, and reports
// whether anything was dropped (then the write is worth one retry). The
// first drop of an episode is logged once; the next ones are counted.
func (q *diskQueue) freeDiskLocked(need int64, cause error) bool {
	want := (need+diskBlock-1)/diskBlock*diskBlock + diskBlock // the record and its directory entry
	var freed, n int64
	for freed < want {
		i := q.oldestDroppableLocked()
		if i < 0 {
			break
		}
		e := q.entries[i]
		p := filepath.Join(q.dir, queueName(e.seq))
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			q.log.Error("alert queue: removing an entry to make room", "file", p, "err", err)
			break
		}
		q.forgetLocked(i)
		freed += max(e.size, diskBlock)
		n++
	}
	if n > 0 {
		_ = syncDir(q.dir)
	}
	q.dropped += n
	q.diskFullDropped += n
	q.episodeDropped += n
	if !q.diskFull {
		q.diskFull = true
		if n > 0 {
			q.log.Error("queue disk full: dropping the oldest undelivered entries to keep new ones (detection goes on); free space on the file system of the queue directory",
				"dir", q.dir, "dropped", n, "queued", len(q.entries), "err", cause)
		} else {
			q.log.Error("queue disk full and nothing queued to drop: new entries are lost until there is space; free space on the file system of the queue directory",
				"dir", q.dir, "err", cause)
		}
	}
	return n > 0
}

// oldestDroppableLocked is the index of the oldest entry that may be
// dropped (never the one in flight), or -1.
func (q *diskQueue) oldestDroppableLocked() int {
	i := 0
	if i < len(q.entries) && q.entries[i].seq == q.pinned {
		i++
	}
	if i >= len(q.entries) {
		return -1
	}
	return i
}

// forgetLocked takes entry i out of the index (its file is already gone).
func (q *diskQueue) forgetLocked(i int) {
	q.bytes -= q.entries[i].size
	q.entries = slices.Delete(q.entries, i, i+1)
}

// wroteLocked ends a disk-full episode at the first write that fits
// without dropping anything once the file system has real room again (a
// tenth of it, or 64 MiB): dropping a few entries frees a few blocks that
// the next writes take, which is still the same episode.
func (q *diskQueue) wroteLocked() {
	if q.diskFull && hasRoom(q.dir) {
		q.log.Info("queue disk has room again", "dir", q.dir, "dropped_while_full", q.episodeDropped)
		q.diskFull, q.episodeDropped = false, 0
	}
}

func hasRoom(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return true
	}
	free, total := st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
	return free >= min(64<<20, total/10)
}

func (q *diskQueue) makeRoomLocked(need int64) {
	for q.bytes+need > q.max {
		i := q.oldestDroppableLocked()
		if i < 0 {
			return
		}
		e := q.entries[i]
		p := filepath.Join(q.dir, queueName(e.seq))
		var head struct{ ID, Type string }
		if b, err := os.ReadFile(p); err == nil {
			if payload, err := decodeRecord(b); err == nil {
				_ = json.Unmarshal(payload, &head)
			}
		}
		q.log.Error("alert queue full: oldest undelivered alert dropped", "alert", head.ID, "type", head.Type, "max_bytes", q.max, "dir", q.dir)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			q.log.Error("alert queue: removing dropped alert", "file", p, "err", err)
		}
		q.forgetLocked(i)
		q.dropped++
	}
}

// head returns the oldest deliverable entry and pins it until remove or
// unpin. Damaged files met on the way are set aside.
func (q *diskQueue) head() (uint64, []byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.entries) > 0 {
		e := q.entries[0]
		name := queueName(e.seq)
		b, err := os.ReadFile(filepath.Join(q.dir, name))
		var payload []byte
		if err == nil {
			payload, err = decodeRecord(b)
		}
		if err != nil {
			q.quarantine(name, err)
			q.entries = q.entries[1:]
			q.bytes -= e.size
			continue
		}
		q.pinned = e.seq
		return e.seq, payload, true
	}
	return 0, nil, false
}

func (q *diskQueue) unpin() {
	q.mu.Lock()
	q.pinned = 0
	q.mu.Unlock()
}

// remove deletes a delivered (or permanently failed) entry.
func (q *diskQueue) remove(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pinned == seq {
		q.pinned = 0
	}
	i := slices.IndexFunc(q.entries, func(e queueEntry) bool { return e.seq == seq })
	if i < 0 {
		return nil
	}
	q.bytes -= q.entries[i].size
	q.entries = slices.Delete(q.entries, i, i+1)
	p := filepath.Join(q.dir, queueName(seq))
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing delivered alert %s: %w", p, err)
	}
	return nil
}

func (q *diskQueue) stats() (n int, bytes, dropped, corrupt int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries), q.bytes, q.dropped, q.corrupt
}

// diskFullStats: entries dropped because the disk was full, and whether
// it is full now.
func (q *diskQueue) diskFullStats() (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.diskFullDropped, q.diskFull
}

// writeFileSync writes dir/name atomically and durably: temp file, fsync,
// rename, fsync of the directory.
func writeFileSync(dir, name string, data []byte) error {
	if err := writeFile(dir, name, data); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeFile writes dir/name atomically (temp file, fsync, rename); the
// rename is durable once the directory is synced.
func writeFile(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
