package ospkg

import "fmt"

type tooLargeError struct {
	path        string
	size, limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%s: %d bytes exceeds the %d-byte limit", e.path, e.size, e.limit)
}
