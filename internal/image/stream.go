package image

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// Uncompressed decompresses layers itself with klauspost/compress (or
// Intel ISA-L with -tags isal) — several times faster than compress/gzip,
// and decompression is most of a scan's time — and reads ahead on another
// goroutine so file I/O, digest checks, decompression and cataloguing
// overlap on separate cores.

// GzipDecoder says which gzip implementation this build uses ("klauspost",
// or "isa-l" when built with -tags isal).
func GzipDecoder() string { return gzipDecoder }

// Uncompressed opens a layer's uncompressed tar stream (see LayerReader).
func Uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil {
		return l.Uncompressed()
	}
	switch mt {
	case types.DockerLayer, types.OCILayer, types.DockerForeignLayer, types.OCIRestrictedLayer:
	case types.OCILayerZStd:
	default:
		// Uncompressed or unknown media types: let ggcr sniff.
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	ra := readAhead(rc, 512<<10, 3)
	br := bufio.NewReaderSize(ra, 64<<10)
	// Sniff rather than trust the media type: some registries label
	// uncompressed or zstd blobs as gzip.
	magic, _ := br.Peek(4)
	var dec io.Reader
	var closeDec func()
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := newGzipReader(br)
		if err != nil {
			ra.Close()
			return nil, fmt.Errorf("open gzip layer: %w", err)
		}
		dec, closeDec = zr, func() { zr.Close() }
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			ra.Close()
			return nil, fmt.Errorf("open zstd layer: %w", err)
		}
		dec, closeDec = zr, zr.Close
	default:
		dec, closeDec = br, func() {}
	}
	out := readAhead(io.NopCloser(dec), 512<<10, 3)
	// Shutdown order matters: the decoder may only be freed (ISA-L holds C
	// memory) once the goroutine that calls it has returned, and that
	// goroutine may be blocked reading the compressed side, so stop the
	// outer reader, close the compressed side, wait, then free.
	return &stackCloser{Reader: out, closers: []func() error{
		func() error { out.stop(); return nil },
		ra.Close,
		out.Close,
		func() error { closeDec(); return nil },
	}}, nil
}

type stackCloser struct {
	io.Reader
	closers []func() error
	once    sync.Once
	err     error
}

func (s *stackCloser) Close() error {
	s.once.Do(func() {
		for _, c := range s.closers {
			if err := c(); err != nil && s.err == nil {
				s.err = err
			}
		}
	})
	return s.err
}

// readAheadReader reads src on its own goroutine into a few buffers.
type readAheadReader struct {
	src    io.ReadCloser
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	buf    []byte // the buffer being consumed, returned to free when done
	cur    []byte // its unread part
	err    error
	errc   chan error
	once   sync.Once
	exited chan struct{} // closed when fill returns
	ended  bool
}

func readAhead(src io.ReadCloser, size, n int) *readAheadReader {
	r := &readAheadReader{src: src, full: make(chan []byte, n), free: make(chan []byte, n), done: make(chan struct{}), errc: make(chan error, 1), exited: make(chan struct{})}
	for i := 0; i < n; i++ {
		r.free <- make([]byte, size)
	}
	go r.fill()
	return r
}

func (r *readAheadReader) fill() {
	defer close(r.exited)
	defer close(r.full)
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.done:
			return
		}
		// Fill the buffer; unlike io.ReadFull this keeps a source's own
		// io.ErrUnexpectedEOF (a truncated gzip stream) as an error.
		buf = buf[:cap(buf)]
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = r.src.Read(buf[n:])
			n += m
		}
		if n > 0 {
			select {
			case r.full <- buf[:n]:
			case <-r.done:
				return
			}
		}
		if err != nil {
			r.errc <- err
			return
		}
	}
}

func (r *readAheadReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.ended {
			return 0, r.err
		}
		buf, ok := <-r.full
		if !ok {
			r.ended = true
			select {
			case r.err = <-r.errc:
			default:
				r.err = io.ErrUnexpectedEOF
			}
			return 0, r.err
		}
		r.buf, r.cur = buf, buf
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	if len(r.cur) == 0 {
		r.free <- r.buf[:cap(r.buf)]
		r.buf, r.cur = nil, nil
	}
	return n, nil
}

// stop tells the filling goroutine to finish without waiting for it.
func (r *readAheadReader) stop() { r.once.Do(func() { close(r.done) }) }

// Close stops the goroutine, closes the source and waits until the
// goroutine has returned, so the source is never read after Close.
func (r *readAheadReader) Close() error {
	r.stop()
	err := r.src.Close()
	<-r.exited
	return err
}
