package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json")

// TestOpenAPIDocument keeps docs/openapi.json the document the server
// serves (go test ./internal/api -run OpenAPI -update rewrites it), and
// checks every route is described with its scope and responses.
func TestOpenAPIDocument(t *testing.T) {
	a := api.New(api.Options{})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(a.Document()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testenv.ModuleRoot(t), "docs", "openapi.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("docs/openapi.json is not the document the server serves: go test ./internal/api -run OpenAPI -update")
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Scope     *string                    `json:"x-bulwark-scope"`
			Responses map[string]json.RawMessage `json:"responses"`
			Summary   string                     `json:"summary"`
		} `json:"paths"`
	}
	json.Unmarshal(buf.Bytes(), &doc) //nolint:errcheck
	for p, item := range doc.Paths {
		for m, op := range item {
			if op.Scope == nil || op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: scope, summary or responses missing", m, p)
			}
		}
	}
}
