package tail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// ReadLines reads r to its end (or until ctx ends), calling fn with every
// line (without newline; only valid during the call) and its 1-based line
// number. Lines longer than maxLine (default DefaultMaxLine) are skipped
// without being buffered whole, and counted.
func ReadLines(ctx context.Context, r io.Reader, maxLine int, fn func(line []byte, n int64)) (skipped uint64, err error) {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	var n int64
	tooLong := false
	for ctx.Err() == nil {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			complete := chunk[len(chunk)-1] == '\n'
			content := len(chunk) // without the newline
			if complete {
				content--
			}
			switch {
			case tooLong:
			case len(long)+content > maxLine:
				tooLong, long = true, long[:0]
			case !complete || len(long) > 0:
				long = append(long, chunk...)
			}
			if complete || (err != nil && !errors.Is(err, bufio.ErrBufferFull)) {
				n++
				if tooLong {
					skipped++
				} else {
					line := chunk
					if len(long) > 0 {
						line = long
					}
					line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
					fn(line, n)
				}
				tooLong, long = false, long[:0]
			}
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return skipped, nil
			}
			return skipped, fmt.Errorf("reading line %d: %w", n+1, err)
		}
	}
	return skipped, nil
}
