// Package k8smanifest loads Kubernetes objects from manifests: multi-document
// YAML, JSON (one object, an array, or a List with items), directories of
// them and stdin, as produced by hand, Helm or kustomize. A broken document is
// an error naming its file and position; the other documents still load.
package k8smanifest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Doc is one Kubernetes object.
type Doc struct {
	Object map[string]any
	// Source is "file:docN" (N from 1); an item of a List adds
	// "/items[i]". Stdin is named "-".
	Source string
	// Line is the first line of the document in its file (from 1).
	Line int
}

// Limits bound what one Load reads.
type Limits struct {
	MaxFileSize  int64 // bytes per file (and for stdin)
	MaxDocuments int   // objects in total
}

// DefaultLimits: 32 MiB per file, 100 000 objects.
func DefaultLimits() Limits { return Limits{MaxFileSize: 32 << 20, MaxDocuments: 100_000} }

// Extensions are the file name endings picked up when walking a directory.
var extensions = []string{".yaml", ".yml", ".json"}

// Load reads every path ("-" is stdin) with DefaultLimits. See LoadLimits.
func Load(ctx context.Context, paths []string, stdin io.Reader) ([]Doc, error) {
	return LoadLimits(ctx, DefaultLimits(), paths, stdin)
}

// LoadLimits reads every path: a file is parsed whatever its name, a
// directory is walked recursively for .yaml, .yml and .json files (in
// lexical order, symlinks not followed). It returns every object it could
// load and, joined, one error per file or document it could not (each a
// *DocError when a document is at fault).
func LoadLimits(ctx context.Context, lim Limits, paths []string, stdin io.Reader) ([]Doc, error) {
	if lim.MaxFileSize <= 0 || lim.MaxDocuments <= 0 {
		d := DefaultLimits()
		if lim.MaxFileSize <= 0 {
			lim.MaxFileSize = d.MaxFileSize
		}
		if lim.MaxDocuments <= 0 {
			lim.MaxDocuments = d.MaxDocuments
		}
	}
	var (
		docs []Doc
		errs []error
	)
	add := func(name string, r io.Reader) error {
		b, err := readLimited(r, lim.MaxFileSize)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			return nil
		}
		d, err := Parse(name, b)
		docs = append(docs, d...)
		if err != nil {
			errs = append(errs, err)
		}
		if len(docs) > lim.MaxDocuments {
			docs = docs[:lim.MaxDocuments]
			return fmt.Errorf("more than %d objects: stopped reading at %s", lim.MaxDocuments, name)
		}
		return nil
	}
	stdinUsed := false
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return docs, errors.Join(append(errs, fmt.Errorf("load manifests: %w", err))...)
		}
		if p == "-" {
			if stdin == nil || stdinUsed {
				errs = append(errs, errors.New("read -: stdin is not available (given twice?)"))
				continue
			}
			stdinUsed = true
			if err := add("-", stdin); err != nil {
				return docs, errors.Join(append(errs, err)...)
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) { // it names p already
				err = pe.Err
			}
			errs = append(errs, fmt.Errorf("read %s: %w", p, err))
			continue
		}
		if !fi.IsDir() {
			if err := addFile(p, add); err != nil {
				return docs, errors.Join(append(errs, err)...)
			}
			continue
		}
		walkErr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("walk %s: %w", path, err))
				return nil
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("load manifests: %w", err)
			}
			if d.IsDir() || !d.Type().IsRegular() || !hasExt(path) {
				return nil
			}
			return addFile(path, add)
		})
		if walkErr != nil {
			return docs, errors.Join(append(errs, walkErr)...)
		}
	}
	return docs, errors.Join(errs...)
}

func addFile(path string, add func(string, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return add(path, errReader{err})
	}
	defer f.Close()
	return add(path, f)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func hasExt(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range extensions {
		if ext == e {
			return true
		}
	}
	return false
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than the %d-byte limit", max)
	}
	return b, nil
}

// DocError is a document that could not be loaded.
type DocError struct {
	Source string // file:docN
	Line   int
	Err    error
}

func (e *DocError) Error() string {
	return fmt.Sprintf("%s (line %d): %v", e.Source, e.Line, e.Err)
}

func (e *DocError) Unwrap() error { return e.Err }

// Parse decodes the documents of one file's content; name is used in
// Source and errors. JSON content (first non-blank byte '{' or '[') is read
// as a stream of JSON values, anything else as YAML documents separated by
// "---" lines. Empty documents are skipped; a document that is not an object
// with a kind is an error; Lists (a kind ending in "List" with items) are
// flattened.
func Parse(name string, data []byte) ([]Doc, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return parseJSON(name, data)
	}
	return parseYAML(name, data)
}

func parseJSON(name string, data []byte) ([]Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var (
		docs []Doc
		errs []error
	)
	for n := 1; ; n++ {
		line := 1 + bytes.Count(data[:dec.InputOffset()], []byte("\n"))
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		src := fmt.Sprintf("%s:doc%d", name, n)
		if err != nil {
			// A JSON syntax error leaves the stream unusable.
			errs = append(errs, &DocError{Source: src, Line: line, Err: fmt.Errorf("decode JSON: %w", err)})
			break
		}
		if arr, ok := v.([]any); ok {
			for i, it := range arr {
				d, err := toDocs(fmt.Sprintf("%s[%d]", src, i), line, it)
				docs = append(docs, d...)
				if err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		d, err := toDocs(src, line, v)
		docs = append(docs, d...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return docs, errors.Join(errs...)
}

type chunk struct {
	text string
	line int
}

// splitYAML cuts a YAML stream at "---" lines (column 0). Text after the
// marker on the same line belongs to the next document; "..." ends one.
func splitYAML(data []byte) []chunk {
	var (
		out  []chunk
		cur  strings.Builder
		line = 1
		sc   = bufio.NewScanner(bytes.NewReader(data))
		n    = 0
	)
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	flush := func(next int) {
		out = append(out, chunk{text: cur.String(), line: line})
		cur.Reset()
		line = next
	}
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "---") && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r'):
			rest := strings.TrimSpace(l[3:])
			if rest == "" {
				flush(n + 1)
				continue
			}
			flush(n)
			cur.WriteString(rest)
			cur.WriteByte('\n')
		case strings.TrimRight(l, " \t\r") == "...":
			flush(n + 1)
		default:
			cur.WriteString(l)
			cur.WriteByte('\n')
		}
	}
	flush(n + 1)
	return out
}

func parseYAML(name string, data []byte) ([]Doc, error) {
	var (
		docs []Doc
		errs []error
		n    int
	)
	for _, c := range splitYAML(data) {
		if strings.TrimSpace(stripComments(c.text)) == "" {
			continue
		}
		n++
		src := fmt.Sprintf("%s:doc%d", name, n)
		var v any
		if err := yaml.Unmarshal([]byte(c.text), &v); err != nil {
			errs = append(errs, &DocError{Source: src, Line: c.line, Err: fmt.Errorf("decode YAML: %w", err)})
			continue
		}
		d, err := toDocs(src, c.line, v)
		docs = append(docs, d...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return docs, errors.Join(errs...)
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t)
		}
	}
	return b.String()
}

// toDocs checks and normalises one decoded value, flattening Lists.
func toDocs(src string, line int, v any) ([]Doc, error) {
	if v == nil {
		return nil, nil
	}
	nv, err := normalize(v, 0)
	if err != nil {
		return nil, &DocError{Source: src, Line: line, Err: err}
	}
	obj, ok := nv.(map[string]any)
	if !ok {
		return nil, &DocError{Source: src, Line: line, Err: fmt.Errorf("not an object but %T", nv)}
	}
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return nil, &DocError{Source: src, Line: line, Err: errors.New("not a Kubernetes object: no kind")}
	}
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var (
			docs []Doc
			errs []error
		)
		for i, it := range items {
			d, err := toDocs(fmt.Sprintf("%s/items[%d]", src, i), line, it)
			docs = append(docs, d...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return docs, errors.Join(errs...)
	}
	if _, ok := obj["apiVersion"].(string); !ok {
		return nil, &DocError{Source: src, Line: line, Err: fmt.Errorf("%s has no apiVersion", kind)}
	}
	return []Doc{{Object: obj, Source: src, Line: line}}, nil
}

const maxDepth = 200

// normalize turns decoded YAML/JSON into JSON-shaped values: string map
// keys, []any, string, bool, nil, int64, float64 or json.Number.
func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			ne, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			t[k] = ne
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			ne, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = ne
		}
		return m, nil
	case []any:
		for i, e := range t {
			ne, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			t[i] = ne
		}
		return t, nil
	case int:
		return int64(t), nil
	case uint64:
		if t > math.MaxInt64 {
			return float64(t), nil
		}
		return int64(t), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("number %v cannot be represented in JSON", t)
		}
		return t, nil
	case time.Time:
		return t.UTC().Format(time.RFC3339), nil
	case []byte:
		return string(t), nil
	case string, bool, int64, json.Number, nil:
		return t, nil
	default:
		return fmt.Sprint(t), nil
	}
}
