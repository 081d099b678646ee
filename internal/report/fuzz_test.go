package report

import (
	"bytes"
	"testing"
)

// FuzzReadJSON checks that ReadJSON never panics and that whatever it
// accepts renders in every format and reads back.
func FuzzReadJSON(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, FormatJSON, testReport(), Options{}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema_version":"1","findings":[{"id":"X","package":{"name":"a","path":"/a b"},"suppression":{"kind":"vex"},"status":"not-affected"}]}`))
	f.Add([]byte(`{"schema_version":"1","packages":[{"name":"","type":"java-archive","licenses":["(MIT"]}],"findings":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, fm := range Formats() {
			var out bytes.Buffer
			if err := Write(&out, fm, r, Options{}); err != nil {
				t.Fatalf("Write %s of an accepted report: %v", fm, err)
			}
			if fm == FormatJSON {
				if _, err := ReadJSON(&out); err != nil {
					t.Fatalf("json output does not read back: %v", err)
				}
			}
		}
	})
}
