package k8smanifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func names(docs []Doc) []string {
	var out []string
	for _, d := range docs {
		md, _ := d.Object["metadata"].(map[string]any)
		n, _ := md["name"].(string)
		out = append(out, d.Object["kind"].(string)+"/"+n+"@"+d.Source)
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr []string // substrings of the error
	}{
		{
			name:    "multi-document with broken middle",
			in:      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: [b\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n",
			want:    []string{"Pod/a@f.yaml:doc1", "Pod/c@f.yaml:doc3"},
			wantErr: []string{"f.yaml:doc2 (line 5)", "decode YAML"},
		},
		{
			name: "marker with content and document end",
			in:   "--- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n...\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n",
			want: []string{"Pod/a@f.yaml:doc1", "Pod/b@f.yaml:doc2"},
		},
		{
			name: "block scalar with dashes inside stays one document",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  x: |\n    ---\n    y\n",
			want: []string{"ConfigMap/cm@f.yaml:doc1"},
		},
		{
			name:    "scalar and kindless documents are errors",
			in:      "just a string\n---\nmetadata: {name: x}\n---\nkind: Pod\n",
			wantErr: []string{"f.yaml:doc1", "not an object", "f.yaml:doc2", "no kind", "f.yaml:doc3", "no apiVersion"},
		},
		{
			name: "JSON array and List",
			in:   `[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"PodList","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}]}]`,
			want: []string{"Pod/a@f.yaml:doc1[0]", "Pod/b@f.yaml:doc1[1]/items[0]"},
		},
		{
			name:    "broken JSON",
			in:      `{"apiVersion":"v1","kind":"Pod"`,
			wantErr: []string{"f.yaml:doc1", "decode JSON"},
		},
		{
			name: "comments only",
			in:   "# nothing\n---\n# here\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Parse("f.yaml", []byte(tt.in))
			if got := strings.Join(names(docs), ","); got != strings.Join(tt.want, ",") {
				t.Errorf("docs = %s, want %s", got, strings.Join(tt.want, ","))
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var de *DocError
			if !errors.As(err, &de) {
				t.Errorf("error is not a *DocError: %v", err)
			}
		})
	}
}

func TestParseNormalizes(t *testing.T) {
	docs, err := Parse("f", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: 1\n  when: 2024-01-02T03:04:05Z\n  1: numeric-key\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := docs[0].Object["spec"].(map[string]any)
	if _, ok := spec["x"].(int64); !ok {
		t.Errorf("x is %T, want int64", spec["x"])
	}
	if spec["1"] != "numeric-key" {
		t.Errorf("numeric key not turned into a string: %#v", spec)
	}
	if s, ok := spec["when"].(string); !ok || s != "2024-01-02T03:04:05Z" {
		t.Errorf("timestamp = %#v, want the RFC 3339 string", spec["when"])
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	stdin := strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n")
	docs, err := Load(ctx, []string{"testdata/dir", "-"}, stdin)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{
		"Pod/one@" + filepath.Join("testdata/dir/app.yaml") + ":doc1",
		"Deployment/two@testdata/dir/app.yaml:doc2",
		"Service/svc@testdata/dir/sub/list.json:doc1/items[0]",
		"Job/job@testdata/dir/sub/list.json:doc1/items[1]",
		"Namespace/ns@-:doc1",
	}
	if got := strings.Join(names(docs), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("docs:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if docs[1].Line != 13 {
		t.Errorf("Deployment line = %d, want 13", docs[1].Line)
	}
}

func TestLoadErrorsKeepGoing(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: big}\n"+strings.Repeat("# pad\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, err := LoadLimits(context.Background(), Limits{MaxFileSize: 300}, []string{filepath.Join(dir, "missing.yaml"), big, "testdata/dir/app.yaml"}, nil)
	if len(docs) != 2 {
		t.Errorf("got %d docs, want the 2 of app.yaml", len(docs))
	}
	for _, w := range []string{"missing.yaml", "big.yaml: larger than the 300-byte limit"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
}

func TestLoadMaxDocuments(t *testing.T) {
	docs, err := LoadLimits(context.Background(), Limits{MaxDocuments: 1}, []string{"testdata/dir"}, nil)
	if len(docs) != 1 || err == nil || !strings.Contains(err.Error(), "more than 1 objects") {
		t.Errorf("got %d docs, err %v; want 1 doc and a limit error", len(docs), err)
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, []string{"testdata/dir"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
