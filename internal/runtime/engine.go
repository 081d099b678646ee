package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Engine evaluates events against the compiled rules. Process is safe to
// call from several goroutines (calls are serialised: correlation state is
// shared); Stats may be read at any time.
type Engine struct {
	mu    sync.Mutex
	log   *slog.Logger
	now   func() time.Time
	rules []*compiled
	idx   index
	act   activation
	cands []*compiled
	prov  *provider
	stamp uint64        // events seen, for the index's dedup marks
	proc  event.Process // the event's process with Cmdline filled in
	// base are the exceptions the engine was built with (its files);
	// SetServerExceptions adds others to them.
	base []*exception

	events, alerts, excepted, evalErrors atomic.Uint64
}

type ruleCounters struct {
	matches, alerts, excepted, evalErrors atomic.Uint64
	errLogged                             atomic.Bool
}

// activation resolves the CEL variables without a map per evaluation.
type activation struct {
	evt      *event.Event
	captured ref.Val
}

var listsMarker = struct{}{}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "evt":
		return a.evt, true
	case "lists":
		return listsMarker, true // the lists' getters ignore their target
	case "captured":
		if a.captured == nil {
			return emptyStrList, true
		}
		return a.captured, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// New loads (Load) and compiles the rule set of opts.
func New(ctx context.Context, opts Options) (*Engine, error) {
	rs, err := Load(ctx, opts)
	if err != nil {
		return nil, err
	}
	return NewFromSet(rs, opts)
}

// NewFromSet compiles an already loaded rule set; only its enabled rules
// run. opts supplies the logger, clock and key cap.
func NewFromSet(rs *RuleSet, opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	lists := make(listsVal, len(rs.Lists))
	for name, items := range rs.Lists {
		lists[name] = newStringSet(items)
	}
	prov, err := newProvider(lists)
	if err != nil {
		return nil, fmt.Errorf("setting up CEL types: %w", err)
	}
	env, err := newEnv(prov)
	if err != nil {
		return nil, fmt.Errorf("setting up CEL environment: %w", err)
	}
	e := &Engine{log: log, now: now, prov: prov}
	exs := make([]*exception, len(rs.Exceptions))
	for i, x := range rs.Exceptions {
		exs[i] = &exception{Exception: x}
	}
	e.base = exs
	for _, r := range rs.Enabled() {
		c, err := compileRule(env, r, opts.MaxKeys)
		if err != nil {
			return nil, err
		}
		c.exceptions = covering(exs, r.ID)
		c.pos = len(e.rules)
		e.rules = append(e.rules, c)
	}
	if e.idx, err = buildIndex(e.rules, rs.Lists); err != nil {
		return nil, err
	}
	return e, nil
}

// covering returns the exceptions whose rule globs cover rule id.
func covering(exs []*exception, id string) []*exception {
	var out []*exception
	for _, x := range exs {
		if x.coversRule(id) {
			out = append(out, x)
		}
	}
	return out
}

// SetServerExceptions replaces the exceptions added to those the engine
// was built with (Options.ExceptionFiles stay): the server's run-time
// exceptions, pulled by internal/remoteconfig. Events processed after it
// returns see the new set.
func (e *Engine) SetServerExceptions(exs []*Exception) {
	all := append([]*exception(nil), e.base...)
	for _, x := range exs {
		all = append(all, &exception{Exception: x})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		r.exceptions = covering(all, r.ID)
	}
}

// Rules returns the compiled rules' definitions, in load order.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Rule
	}
	return out
}

// Process evaluates one event and calls emit for every rule that fires.
// A rule's run-time CEL error is counted (and logged once per rule), never
// fatal.
func (e *Engine) Process(ev *event.Event, emit func(model.Alert)) {
	if ev == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events.Add(1)
	e.stamp++
	// Rules read evt.process.cmdline alone: a source that only has argv gets
	// it joined here, once per event, on a copy (the caller's event is
	// restored before returning).
	if p := ev.Process; p != nil && p.Cmdline == "" && len(p.Args) > 0 {
		e.proc = *p
		e.proc.Cmdline = strings.Join(p.Args, " ")
		ev.Process = &e.proc
		defer func() { ev.Process = p; e.proc = event.Process{} }()
	}
	e.cands = e.idx.appendCandidates(e.cands[:0], ev, e.stamp)
	if len(e.cands) == 0 {
		return
	}
	e.act.evt = ev
	for _, r := range e.cands {
		switch {
		case r.seqFirst != nil:
			e.evalSequence(r, ev, emit)
		case r.corrKey != nil:
			e.evalCorrelate(r, ev, emit)
		default:
			if e.evalBool(r, &r.cond) {
				r.counters.matches.Add(1)
				e.fire(r, ev, emit, nil)
			}
		}
	}
	e.act.evt, e.act.captured = nil, nil
	e.prov.reset()
}

func (e *Engine) evalCorrelate(r *compiled, ev *event.Event, emit func(model.Alert)) {
	if !e.evalBool(r, &r.cond) {
		return
	}
	r.counters.matches.Add(1)
	key, ok := e.evalString(r, r.corrKey)
	if !ok {
		return
	}
	t := ev.Time
	cut := t.Add(-r.window)
	ent := r.state.touch(key, t, r.window)
	th := r.Correlate.Threshold
	if r.corrDistinct != nil {
		d, ok := e.evalString(r, r.corrDistinct)
		if !ok {
			return
		}
		if ent.distinct == nil {
			ent.distinct = make(map[string]time.Time, min(th, 4))
		}
		for v, at := range ent.distinct {
			if at.Before(cut) {
				delete(ent.distinct, v)
			}
		}
		ent.distinct[d] = t
		if len(ent.distinct) >= th {
			vals := make([]string, 0, len(ent.distinct))
			for v := range ent.distinct {
				vals = append(vals, v)
			}
			sort.Strings(vals)
			r.state.remove(ent) // a burst fires once, then counting starts afresh
			e.fire(r, ev, emit, map[string]string{
				"correlated_count": fmt.Sprint(len(vals)), "distinct_values": strings.Join(vals, ","),
			})
		}
		return
	}
	ent.times = append(pruneTimes(ent.times, cut), t)
	if len(ent.times) >= th {
		r.state.remove(ent)
		e.fire(r, ev, emit, map[string]string{"correlated_count": fmt.Sprint(th)})
	}
}

func (e *Engine) evalSequence(r *compiled, ev *event.Event, emit func(model.Alert)) {
	// The key is computed only when state exists or `first` holds: most
	// events of a quiet rule need neither.
	var key string
	haveKey := false
	t := ev.Time
	cut := t.Add(-r.window)
	// Second step first, against what earlier events captured, so an event
	// is never its own predecessor.
	var ent *entry
	if r.state.len() > 0 {
		var ok bool
		if key, ok = e.evalString(r, r.seqKey); !ok {
			return
		}
		haveKey, ent = true, r.state.get(key)
	}
	if ent != nil {
		i := 0
		for i < len(ent.captured) && ent.captured[i].at.Before(cut) {
			i++
		}
		ent.captured = ent.captured[i:]
		if len(ent.captured) == 0 {
			r.state.remove(ent)
		} else {
			vals := make([]string, len(ent.captured))
			for j, c := range ent.captured {
				vals[j] = c.value
			}
			// captured stays set through fire: outputs may read it.
			e.act.captured = types.NewStringList(e.prov, vals)
			if e.evalBool(r, &r.cond) {
				r.counters.matches.Add(1)
				e.fire(r, ev, emit, nil)
			}
			e.act.captured = nil
		}
	}
	if !e.evalBool(r, r.seqFirst) {
		return
	}
	if !haveKey {
		var ok bool
		if key, ok = e.evalString(r, r.seqKey); !ok {
			return
		}
	}
	var vals []string
	if r.seqCapture != nil {
		v, err := e.eval(r, r.seqCapture)
		if err != nil {
			return
		}
		vals = stringsOf(v)
	} else {
		vals = []string{""}
	}
	ent = r.state.touch(key, t, r.window)
	for _, v := range vals {
		ent.captured = append(ent.captured, captured{at: t, value: v})
	}
	if n := len(ent.captured); n > maxCaptured {
		ent.captured = append(ent.captured[:0], ent.captured[n-maxCaptured:]...)
	}
}

// eval runs one expression; an error is counted and logged once per rule.
func (e *Engine) eval(r *compiled, p *program) (ref.Val, error) {
	v, _, err := p.prg.Eval(&e.act)
	if err == nil && types.IsError(v) {
		err = v.(*types.Err)
	}
	if err != nil {
		r.counters.evalErrors.Add(1)
		e.evalErrors.Add(1)
		if r.counters.errLogged.CompareAndSwap(false, true) {
			e.log.Warn("runtime rule evaluation error (logged once per rule)", "rule", r.ID, "file", r.File,
				"expr", p.expr, "err", err)
		}
		return nil, err
	}
	return v, nil
}

func (e *Engine) evalBool(r *compiled, p *program) bool {
	v, err := e.eval(r, p)
	if err != nil {
		return false
	}
	b, ok := v.(types.Bool)
	return ok && bool(b)
}

func (e *Engine) evalString(r *compiled, p *program) (string, bool) {
	v, err := e.eval(r, p)
	if err != nil {
		return "", false
	}
	return valString(v), true
}

// valString renders an output value: strings as they are, lists joined with
// ",", the rest in CEL's own formatting.
func valString(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case absent:
		return ""
	}
	if _, ok := v.(traits.Lister); ok {
		return strings.Join(stringsOf(v), ",")
	}
	if s, ok := v.ConvertToType(types.StringType).(types.String); ok {
		return string(s)
	}
	return fmt.Sprint(v.Value())
}

func stringsOf(v ref.Val) []string {
	l, ok := v.(traits.Lister)
	if !ok {
		return []string{valString(v)}
	}
	var out []string
	it := l.Iterator()
	for it.HasNext() == types.True {
		out = append(out, valString(it.Next()))
	}
	return out
}

// fire checks the exceptions and emits the alert.
func (e *Engine) fire(r *compiled, ev *event.Event, emit func(model.Alert), extra map[string]string) {
	if len(r.exceptions) > 0 {
		now := e.now()
		for _, x := range r.exceptions {
			if x.active(now, e.log) && x.matches(ev) {
				r.counters.excepted.Add(1)
				e.excepted.Add(1)
				return
			}
		}
	}
	props := make(map[string]string, len(r.outputs)+len(extra))
	for _, o := range r.outputs {
		if v, err := e.eval(r, &o.program); err == nil {
			props[o.name] = valString(v)
		}
	}
	for k, v := range extra {
		props[k] = v
	}
	r.counters.alerts.Add(1)
	e.alerts.Add(1)
	emit(buildAlert(r.Rule, ev, props))
}

// Stats are the engine's counters.
type Stats struct {
	Events     uint64               `json:"events"`
	Alerts     uint64               `json:"alerts"`
	Excepted   uint64               `json:"excepted"`
	EvalErrors uint64               `json:"eval_errors"`
	Rules      map[string]RuleStats `json:"rules"`
}

// RuleStats are one rule's counters. Matches counts condition hits (a
// correlated rule alerts only when its threshold is reached).
type RuleStats struct {
	Matches    uint64 `json:"matches"`
	Alerts     uint64 `json:"alerts"`
	Excepted   uint64 `json:"excepted"`
	EvalErrors uint64 `json:"eval_errors"`
	// Keys is the correlation state held now.
	Keys int `json:"keys,omitempty"`
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	s := Stats{Events: e.events.Load(), Alerts: e.alerts.Load(), Excepted: e.excepted.Load(),
		EvalErrors: e.evalErrors.Load(), Rules: make(map[string]RuleStats, len(e.rules))}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		rs := RuleStats{Matches: r.counters.matches.Load(), Alerts: r.counters.alerts.Load(),
			Excepted: r.counters.excepted.Load(), EvalErrors: r.counters.evalErrors.Load()}
		if r.state != nil {
			rs.Keys = r.state.len()
		}
		s.Rules[r.ID] = rs
	}
	return s
}
