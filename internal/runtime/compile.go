package runtime

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// program is one compiled CEL expression with its source, for messages.
type program struct {
	prg  cel.Program
	expr string
}

type namedProgram struct {
	name string
	program
}

// compiled is a rule ready to evaluate.
type compiled struct {
	*Rule
	cond    program
	outputs []namedProgram // sorted by name
	subres  map[string]bool
	actions map[string]bool // match.actions, checked on executable lookups
	pos     int             // load order
	stamp   uint64          // the last event that selected it (index dedup)

	// correlation (one of the two, or neither)
	corrKey, corrDistinct *program
	seqKey, seqFirst      *program
	seqCapture            *program
	window                time.Duration
	state                 *lru

	exceptions []*exception // those whose rules globs cover this rule
	counters   *ruleCounters
}

// typeCheck says which result types an expression may have.
type typeCheck func(*cel.Type) bool

var (
	isBool   typeCheck = func(t *cel.Type) bool { return t.IsExactType(types.BoolType) || t.IsExactType(types.DynType) }
	isString typeCheck = func(t *cel.Type) bool {
		return t.IsExactType(types.StringType) || t.IsExactType(types.DynType)
	}
	isScalarOrList typeCheck = func(t *cel.Type) bool {
		switch t.Kind() {
		case types.StringKind, types.IntKind, types.UintKind, types.DoubleKind, types.BoolKind,
			types.DynKind, types.TimestampKind, types.DurationKind, types.ListKind:
			return true
		}
		return false
	}
)

func compileExpr(env *cel.Env, what, expr string, want typeCheck, wantName string) (program, error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return program{}, fmt.Errorf("%s: %w", what, iss.Err())
	}
	if !want(ast.OutputType()) {
		return program{}, fmt.Errorf("%s: result is %s, want %s", what, ast.OutputType(), wantName)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return program{}, fmt.Errorf("%s: %w", what, err)
	}
	return program{prg: prg, expr: expr}, nil
}

// compileRule compiles every expression of r once. Errors name the file
// and rule id.
func compileRule(env *cel.Env, r *Rule, maxKeys int) (*compiled, error) {
	c := &compiled{Rule: r, counters: &ruleCounters{}}
	wrap := func(err error) error { return fmt.Errorf("rule file %s: rule %s: %w", r.File, r.ID, err) }
	var err error
	if c.cond, err = compileExpr(env, "condition", r.Condition, isBool, "bool"); err != nil {
		return nil, wrap(err)
	}
	names := make([]string, 0, len(r.Output))
	for n := range r.Output {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := compileExpr(env, "output "+n, r.Output[n], isScalarOrList, "a string, number, bool or list")
		if err != nil {
			return nil, wrap(err)
		}
		c.outputs = append(c.outputs, namedProgram{n, p})
	}
	if len(r.Match.Subresources) > 0 {
		c.subres = map[string]bool{}
		for _, s := range r.Match.Subresources {
			c.subres[s] = true
		}
	}
	if len(r.Match.Actions) > 0 {
		c.actions = map[string]bool{}
		for _, a := range r.Match.Actions {
			c.actions[a] = true
		}
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if co := r.Correlate; co != nil {
		k, err := compileExpr(env, "correlate.key", co.Key, isString, "string")
		if err != nil {
			return nil, wrap(err)
		}
		c.corrKey = &k
		if co.Distinct != "" {
			d, err := compileExpr(env, "correlate.distinct", co.Distinct, isScalarOrList, "a scalar")
			if err != nil {
				return nil, wrap(err)
			}
			c.corrDistinct = &d
		}
		c.window = time.Duration(co.Window)
		c.state = newLRU(maxKeys)
	}
	if sq := r.Sequence; sq != nil {
		k, err := compileExpr(env, "sequence.key", sq.Key, isString, "string")
		if err != nil {
			return nil, wrap(err)
		}
		f, err := compileExpr(env, "sequence.first", sq.First, isBool, "bool")
		if err != nil {
			return nil, wrap(err)
		}
		c.seqKey, c.seqFirst = &k, &f
		if sq.Capture != "" {
			cp, err := compileExpr(env, "sequence.capture", sq.Capture, isScalarOrList, "string or list of strings")
			if err != nil {
				return nil, wrap(err)
			}
			c.seqCapture = &cp
		}
		c.window = time.Duration(sq.Window)
		c.state = newLRU(maxKeys)
	}
	return c, nil
}
