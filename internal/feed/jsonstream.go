package feed

import (
	"encoding/json"
	"fmt"
)

// ExpectDelim reads the next token of a streaming JSON decode and checks it
// is the delimiter d; loaders that walk large feeds token by token use it.
func ExpectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("expected %q, found %v", d, tok)
	}
	return nil
}
