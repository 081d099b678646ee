package ospkg

import (
	"bytes"
	"context"
)

// eachLine calls fn for every line of a package database (a trailing CR
// dropped, numbered from 1), checking ctx every 4096 lines so a huge file
// can be abandoned; it stops at fn's first error.
func eachLine(ctx context.Context, data []byte, fn func(lineNo int, line []byte) error) error {
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		if lineNo%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(lineNo, bytes.TrimSuffix(line, []byte{'\r'})); err != nil {
			return err
		}
	}
	return nil
}
