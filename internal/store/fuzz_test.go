package store

import "testing"

// FuzzCursor: a cursor from a client is either one this server could have
// given, or an ErrBadQuery; never a panic.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(int64(5), "id"), true)
	f.Add(encodeCursor("name", "id"), false)
	f.Add("", false)
	f.Add("W10", true)
	f.Fuzz(func(t *testing.T, c string, numeric bool) {
		v, ids, err := decodeCursor(c, numeric)
		if err != nil {
			return
		}
		if got := encodeCursor(v, ids...); got == "" {
			t.Fatal("empty re-encoding")
		}
	})
}
