//go:build isal && cgo

package image

/*
#cgo LDFLAGS: -lisal
#include <isa-l/igzip_lib.h>
#include <stdlib.h>

static struct inflate_state *bw_isal_new(void) {
	struct inflate_state *s = malloc(sizeof(struct inflate_state));
	if (s == NULL) return NULL;
	isal_inflate_init(s);
	s->crc_flag = ISAL_GZIP;
	return s;
}

static void bw_isal_reset(struct inflate_state *s) {
	isal_inflate_reset(s);
	s->crc_flag = ISAL_GZIP;
}

static int bw_isal_inflate(struct inflate_state *s, uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_len,
		uint32_t *consumed, uint32_t *produced, int *finished) {
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	int r = isal_inflate(s);
	*consumed = in_len - s->avail_in;
	*produced = out_len - s->avail_out;
	*finished = s->block_state == ISAL_BLOCK_FINISH;
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// gzipDecoder names the decoder in use, for the benchmark script.
const gzipDecoder = "isa-l"

const (
	isalInSize  = 256 << 10
	isalOutSize = 1 << 20
)

// isalReader inflates gzip with Intel ISA-L's igzip (built with -tags isal,
// needs libisal-dev): about twice klauspost's speed, which matters because
// decompression is most of a cold scan. Buffers live in C memory so no Go
// pointer is ever held by the C state.
type isalReader struct {
	src      io.Reader
	st       *C.struct_inflate_state
	in, out  unsafe.Pointer
	inBuf    []byte
	outBuf   []byte
	inStart  int
	inEnd    int
	outStart int
	outEnd   int
	srcErr   error // io.EOF or a read error, once seen
	finished bool  // the current gzip member ended
	err      error
}

func newGzipReader(r io.Reader) (io.ReadCloser, error) {
	st := C.bw_isal_new()
	if st == nil {
		return nil, errors.New("isa-l: out of memory")
	}
	z := &isalReader{src: r, st: st, in: C.malloc(isalInSize), out: C.malloc(isalOutSize)}
	if z.in == nil || z.out == nil {
		z.Close()
		return nil, errors.New("isa-l: out of memory")
	}
	z.inBuf = unsafe.Slice((*byte)(z.in), isalInSize)
	z.outBuf = unsafe.Slice((*byte)(z.out), isalOutSize)
	return z, nil
}

func (z *isalReader) fillIn() {
	if z.srcErr != nil {
		return
	}
	if z.inStart > 0 {
		n := copy(z.inBuf, z.inBuf[z.inStart:z.inEnd])
		z.inStart, z.inEnd = 0, n
	}
	n, err := z.src.Read(z.inBuf[z.inEnd:])
	z.inEnd += n
	if err != nil {
		z.srcErr = err
	}
}

func (z *isalReader) Read(p []byte) (int, error) {
	for z.outStart == z.outEnd {
		if z.err != nil {
			return 0, z.err
		}
		if z.finished {
			// Another gzip member may follow (concatenated streams).
			if z.inStart == z.inEnd {
				z.fillIn()
			}
			if z.inStart == z.inEnd {
				if z.srcErr != nil && z.srcErr != io.EOF {
					z.err = z.srcErr
				} else {
					z.err = io.EOF
				}
				continue
			}
			C.bw_isal_reset(z.st)
			z.finished = false
		}
		if z.inStart == z.inEnd || (z.inEnd-z.inStart < isalInSize/4 && z.srcErr == nil) {
			z.fillIn()
		}
		var consumed, produced C.uint32_t
		var fin C.int
		var inPtr *C.uint8_t
		if z.inEnd > z.inStart {
			inPtr = (*C.uint8_t)(unsafe.Add(z.in, z.inStart))
		} else {
			inPtr = (*C.uint8_t)(z.in)
		}
		r := C.bw_isal_inflate(z.st, inPtr, C.uint32_t(z.inEnd-z.inStart), (*C.uint8_t)(z.out), isalOutSize, &consumed, &produced, &fin)
		z.inStart += int(consumed)
		z.outStart, z.outEnd = 0, int(produced)
		if r < 0 {
			z.err = fmt.Errorf("gzip: isa-l inflate error %d", int(r))
			if produced == 0 {
				return 0, z.err
			}
			break
		}
		if fin != 0 {
			z.finished = true
		} else if produced == 0 && consumed == 0 && z.inStart == z.inEnd && z.srcErr != nil {
			if z.srcErr == io.EOF {
				z.err = io.ErrUnexpectedEOF
			} else {
				z.err = z.srcErr
			}
		}
	}
	n := copy(p, z.outBuf[z.outStart:z.outEnd])
	z.outStart += n
	return n, nil
}

func (z *isalReader) Close() error {
	if z.st != nil {
		C.free(unsafe.Pointer(z.st))
		z.st = nil
	}
	if z.in != nil {
		C.free(z.in)
		z.in = nil
	}
	if z.out != nil {
		C.free(z.out)
		z.out = nil
	}
	return nil
}
