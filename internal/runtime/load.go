package runtime

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/runtime/rules"
)

// Options say where rules, lists and exceptions come from, beside the
// built-ins.
type Options struct {
	RuleDirs       []string // *.yaml rule files; a rule with a built-in id replaces it
	ListDirs       []string // *.yaml lists files; entries are appended to the built-in lists
	ExceptionFiles []string
	Logger         *slog.Logger
	// NoBuiltins leaves the embedded rules out (lists stay): for tests and
	// for users who ship a complete rule set.
	NoBuiltins bool
	// MaxKeys bounds the correlation state of one rule (keys kept, least
	// recently used evicted first); 0 means DefaultMaxKeys.
	MaxKeys int
	// Now is the wall clock exceptions expire by; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxKeys is the per-rule correlation key cap.
const DefaultMaxKeys = 10000

// RuleSet is everything loaded: rules (enabled and not), lists and
// exceptions, before compilation.
type RuleSet struct {
	Rules      []*Rule
	Lists      map[string][]string
	Exceptions []*Exception
}

// Enabled returns the rules that are on.
func (rs *RuleSet) Enabled() []*Rule {
	var out []*Rule
	for _, r := range rs.Rules {
		if r.IsEnabled() {
			out = append(out, r)
		}
	}
	return out
}

// Load reads the built-in rules and lists, then the user's directories and
// exception files. Any bad file is an error naming it: a rule set that
// half-loads would silently miss detections.
func Load(ctx context.Context, opts Options) (*RuleSet, error) {
	rs := &RuleSet{Lists: map[string][]string{}}
	byID := map[string]int{}
	addRules := func(rr []*Rule) {
		for _, r := range rr {
			if i, ok := byID[r.ID]; ok {
				rs.Rules[i] = r // user rule (read later) replaces
				continue
			}
			byID[r.ID] = len(rs.Rules)
			rs.Rules = append(rs.Rules, r)
		}
	}
	addLists := func(ls map[string][]string) {
		for name, items := range ls {
			rs.Lists[name] = append(rs.Lists[name], items...)
		}
	}
	// Built-ins.
	if !opts.NoBuiltins {
		files, err := fs.Glob(rules.FS, "*.yaml")
		if err != nil {
			return nil, fmt.Errorf("listing built-in rules: %w", err)
		}
		for _, f := range files {
			data, err := fs.ReadFile(rules.FS, f)
			if err != nil {
				return nil, fmt.Errorf("reading built-in rule %s: %w", f, err)
			}
			rr, err := ParseRules("builtin:"+f, data)
			if err != nil {
				return nil, err
			}
			addRules(rr)
		}
	}
	lfiles, err := fs.Glob(rules.FS, "lists/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("listing built-in lists: %w", err)
	}
	for _, f := range lfiles {
		data, err := fs.ReadFile(rules.FS, f)
		if err != nil {
			return nil, fmt.Errorf("reading built-in lists %s: %w", f, err)
		}
		ls, err := ParseLists("builtin:"+path.Base(f), data)
		if err != nil {
			return nil, err
		}
		addLists(ls)
	}
	// User directories.
	for _, dir := range opts.RuleDirs {
		err := eachYAML(ctx, dir, func(p string, data []byte) error {
			rr, err := ParseRules(p, data)
			if err == nil {
				addRules(rr)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	for _, dir := range opts.ListDirs {
		err := eachYAML(ctx, dir, func(p string, data []byte) error {
			ls, err := ParseLists(p, data)
			if err == nil {
				addLists(ls)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	for _, f := range opts.ExceptionFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading exceptions file: %w", err)
		}
		ex, err := ParseExceptions(f, data)
		if err != nil {
			return nil, err
		}
		rs.Exceptions = append(rs.Exceptions, ex...)
	}
	return rs, nil
}

// eachYAML calls fn for every *.yaml/*.yml file directly in dir (or for dir
// itself when it is a file), in name order.
func eachYAML(ctx context.Context, dir string, fn func(path string, data []byte) error) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("reading rules from %s: %w", dir, err)
	}
	var files []string
	if st.IsDir() {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("reading rules from %s: %w", dir, err)
		}
		for _, e := range ents {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				files = append(files, filepath.Join(dir, n))
			}
		}
		sort.Strings(files)
	} else {
		files = []string{dir}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		if err := fn(f, data); err != nil {
			return err
		}
	}
	return nil
}
