package policy

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// builtinFS holds the built-in policies and their Rego tests.
//
//go:embed builtin/*.rego builtin/*.yaml
var builtinFS embed.FS

// policyPrefix is the package prefix of every policy module.
var policyPrefix = ast.MustParseRef("data.bulwark.policies")

// reasonNoScan is the Skipped reason when the engine has no scan results.
const reasonNoScan = "no image scan results available"

// Option configures an Engine.
type Option func(*options)

type options struct {
	scan       func(image string) (model.ImageVerdict, bool)
	logger     *slog.Logger
	pssVersion PSSVersion
}

// WithPSSVersion sets the Pod Security Standards version Evaluate and
// EvaluateDocument apply (default PSSLatest, the newest the built-in table
// describes).
func WithPSSVersion(v PSSVersion) Option {
	return func(o *options) { o.pssVersion = v }
}

// WithImageVerdicts gives the engine the server's verdict per image (a
// reference as the pod names it), for the policies that require scan
// results (metadata "requires": ["scan"]): BW-K8S-IMAGE-VULNS. known is
// false for images the server has no verdict for; they are listed in
// Result.Skipped and Result.UnknownImages. f is called during evaluation:
// it must answer from memory (the admission webhook's verdict cache, the
// batch audit k8s fetched first), never from the network.
func WithImageVerdicts(f func(image string) (v model.ImageVerdict, known bool)) Option {
	return func(o *options) { o.scan = f }
}

// WithLogger sets the logger for evaluation warnings (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Engine evaluates objects against the compiled policies. It is safe for
// concurrent use.
type Engine struct {
	policies []*compiledPolicy // sorted by id
	include  map[string]bool
	exclude  map[string]bool
	exempt   []*regexp.Regexp
	scan     func(string) (model.ImageVerdict, bool)
	verdicts verdictMemo
	log      *slog.Logger
	// combined evaluates every runnable policy in one query (nil: one
	// query per policy); combinedRuns are its policies, in order.
	combined     *rego.PreparedEvalQuery
	combinedRuns []*compiledPolicy
	combinedVars []string
	// allParams is every policy's static params by package, the input's
	// paramsKey (rewriteParams).
	allParams ast.Object
	// pss is the versions table; pssVersion the version Evaluate applies.
	pss        *pssTable
	pssVersion PSSVersion
	// pssControl is the PSS control of each PSS policy, by policy id;
	// pssPolicy the enabled policy of each control, by control.
	pssControl map[string]string
	pssPolicy  map[string]string
	// nsOverride are the config's pod_security.namespaces entries;
	// nsIgnore the namespaces whose labels the config ignores.
	nsOverride map[string]PSSNamespace
	nsIgnore   map[string]bool
}

type compiledPolicy struct {
	meta           Policy
	pkg            string // last package segment
	params         map[string]any
	paramsValue    ast.Value
	requiredParams []string
	needsScan      bool
	query          rego.PreparedEvalQuery
}

// metadataDoc is a policy module's metadata rule.
type metadataDoc struct {
	ID             string   `json:"id"`
	Title          string   `json:"title"`
	Severity       string   `json:"severity"`
	Description    string   `json:"description"`
	Remediation    string   `json:"remediation"`
	DefaultMode    string   `json:"default_mode"`
	Sets           []string `json:"sets"`
	PSSControl     string   `json:"pss_control"`
	RequiredParams []string `json:"required_params"` // skipped while any is unset
	Requires       []string `json:"requires"`        // "scan": needs WithImageVerdicts
}

// New loads the built-in policies and those in cfg.PolicyDirs, validates
// their metadata and the config against them, and prepares their queries.
// A nil cfg means DefaultConfig().
func New(ctx context.Context, cfg *Config, opts ...Option) (*Engine, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	if builtinPSSErr != nil {
		return nil, builtinPSSErr
	}
	o := options{pssVersion: PSSLatest}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	var err error
	e := &Engine{
		include: toSet(cfg.Namespaces.Include),
		exclude: toSet(cfg.Namespaces.Exclude),
		scan:    o.scan,
		log:     o.logger,

		pss:        builtinPSS,
		pssVersion: o.pssVersion,
		pssControl: map[string]string{},
		pssPolicy:  map[string]string{},
	}
	if e.nsOverride, err = cfg.PodSecurity.parse(); err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	e.nsIgnore = map[string]bool{}
	for ns := range cfg.PodSecurity.Namespaces {
		if _, ok := e.nsOverride[ns]; !ok {
			e.nsIgnore[ns] = true
		}
	}
	for _, g := range cfg.ExemptImages {
		re, err := compileGlob(g)
		if err != nil {
			return nil, err
		}
		e.exempt = append(e.exempt, re)
	}

	modules := map[string]*ast.Module{}
	builtinPkgs := map[string]bool{}
	if err := loadBuiltin(modules, builtinPkgs); err != nil {
		return nil, err
	}
	for _, dir := range cfg.PolicyDirs {
		if err := loadDir(dir, modules); err != nil {
			return nil, err
		}
	}
	pkgs, err := policyPackages(modules)
	if err != nil {
		return nil, err
	}
	combinable := rewriteParams(modules)
	compiler := ast.NewCompiler()
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}

	activeSets := toSet(cfg.Sets)
	ids := map[string]string{} // id -> package
	for _, pkg := range pkgs {
		meta, err := readMetadata(ctx, compiler, pkg)
		if err != nil {
			return nil, err
		}
		p, err := validateMetadata(pkg, meta, builtinPkgs[pkg])
		if err != nil {
			return nil, err
		}
		if other, dup := ids[p.ID]; dup {
			return nil, fmt.Errorf("policy id %s is declared by both %s and %s", p.ID, other, pkg)
		}
		ids[p.ID] = pkg
		if p.Builtin && p.PSSControl != "" {
			if _, known := e.pss.controls[p.PSSControl]; !known {
				return nil, fmt.Errorf("policy %s: pss_control %q is not in the PSS versions table", p.ID, p.PSSControl)
			}
			e.pssControl[p.ID] = p.PSSControl
		}
		pc := cfg.Policies[p.ID]
		p.Mode = p.DefaultMode
		if pc.Mode != "" {
			p.Mode = pc.Mode
		}
		if len(activeSets) > 0 && !anyIn(p.Sets, activeSets) {
			p.Mode = ModeDisabled
		}
		cp := &compiledPolicy{
			meta:           p,
			pkg:            pkg,
			params:         pc.Params,
			requiredParams: meta.RequiredParams,
			needsScan:      contains(meta.Requires, "scan"),
		}
		if cp.params == nil {
			cp.params = map[string]any{}
		}
		if cp.paramsValue, err = ast.InterfaceToValue(cp.params); err != nil {
			return nil, fmt.Errorf("policy %s params: %w", p.ID, err)
		}
		q := fmt.Sprintf("data.bulwark.policies.%s.violation", pkg)
		cp.query, err = rego.New(rego.Compiler(compiler), rego.Query(q)).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare policy %s: %w", p.ID, err)
		}
		e.policies = append(e.policies, cp)
	}
	for id := range cfg.Policies {
		if _, ok := ids[id]; !ok {
			return nil, fmt.Errorf("policy config: policies.%s: no such policy", id)
		}
	}
	sort.Slice(e.policies, func(i, j int) bool { return e.policies[i].meta.ID < e.policies[j].meta.ID })
	for _, cp := range e.policies {
		if c := e.pssControl[cp.meta.ID]; c != "" && cp.meta.Mode != ModeDisabled {
			e.pssPolicy[c] = cp.meta.ID
		}
	}
	allParams := ast.NewObject()
	for _, cp := range e.policies {
		allParams.Insert(ast.StringTerm(cp.pkg), ast.NewTerm(cp.paramsValue))
	}
	e.allParams = allParams
	if combinable {
		if err := e.prepareCombined(ctx, compiler); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// paramsKey is the input key holding every policy's params by package:
// policy modules read input.params, rewritten by rewriteParams to
// input.<paramsKey>.<package>, so one input serves every policy and they
// can all run in one query.
const paramsKey = "__bulwark_params"

// rewriteParams rewrites input.params in each policy module to
// input.__bulwark_params.<package>. It reports whether every module is
// safe to evaluate in one combined query: no library module reads
// input.params and no module uses input other than through a constant key
// (x := input; x.params would miss the params). When it is not, each
// policy still gets its own input.params in its own query.
func rewriteParams(modules map[string]*ast.Module) (combinable bool) {
	combinable = true
	inputVar := ast.Var("input")
	for _, m := range modules {
		pkg, isPolicy := policyPackage(m)
		bare := 0
		ast.WalkVars(m, func(v ast.Var) bool {
			if v.Equal(inputVar) {
				bare++
			}
			return false
		})
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if len(r) >= 2 && r[0].Value.Compare(inputVar) == 0 {
				if _, ok := r[1].Value.(ast.String); ok {
					bare--
				}
				if r[1].Value.Compare(ast.String("params")) == 0 && !isPolicy {
					combinable = false // a library reading one policy's params
				}
			}
			return false
		})
		if bare > 0 {
			combinable = false
		}
		if !isPolicy {
			continue
		}
		// In place over every term: ast.TransformRefs skips `some x in …`.
		ast.WalkTerms(m, func(t *ast.Term) bool {
			r, ok := t.Value.(ast.Ref)
			if ok && len(r) >= 2 && r[0].Value.Compare(inputVar) == 0 && r[1].Value.Compare(ast.String("params")) == 0 {
				out := ast.Ref{r[0], ast.StringTerm(paramsKey), ast.StringTerm(pkg)}
				t.Value = append(out, r[2:]...)
			}
			return false
		})
	}
	return combinable
}

// prepareCombined prepares one query over every policy that runs on every
// object (enabled, required params set, scan results available if needed):
// one evaluation instead of one per policy (BenchmarkEvaluateCombined).
func (e *Engine) prepareCombined(ctx context.Context, compiler *ast.Compiler) error {
	var exprs []string
	e.combinedRuns = nil
	for _, cp := range e.policies {
		if cp.meta.Mode == ModeDisabled || len(missingParams(cp.params, cp.requiredParams)) > 0 || (cp.needsScan && e.scan == nil) {
			continue
		}
		v := fmt.Sprintf("v%d", len(e.combinedRuns))
		exprs = append(exprs, fmt.Sprintf("%s := data.bulwark.policies.%s.violation", v, cp.pkg))
		e.combinedRuns = append(e.combinedRuns, cp)
		e.combinedVars = append(e.combinedVars, v)
	}
	if len(exprs) == 0 {
		return nil
	}
	q, err := rego.New(rego.Compiler(compiler), rego.Query(strings.Join(exprs, "; "))).PrepareForEval(ctx)
	if err != nil {
		return fmt.Errorf("prepare the combined policy query: %w", err)
	}
	e.combined = &q
	return nil
}

// runCombined evaluates runs in the combined query. ok is false when the
// combined query does not apply (other policies to run) or fails in any
// way (a policy errs, or its violation set is undefined or malformed): the
// caller then runs each policy alone, which names the culprit.
func (e *Engine) runCombined(ctx context.Context, input ast.Object, runs []planned) (vs []Violation, ok bool) {
	if e.combined == nil || len(runs) != len(e.combinedRuns) {
		return nil, false
	}
	for i, r := range runs {
		if r.cp != e.combinedRuns[i] {
			return nil, false
		}
	}
	rs, err := e.combined.Eval(ctx, rego.EvalParsedInput(input), rego.EvalGenerateJSON(keepTerm))
	if err != nil || len(rs) != 1 {
		return nil, false
	}
	vs = []Violation{}
	for i, cp := range e.combinedRuns {
		v, found := rs[0].Bindings[e.combinedVars[i]]
		t, isTerm := v.(*ast.Term)
		if !found || !isTerm {
			return nil, false
		}
		pvs, err := termViolations(cp, t)
		if err != nil {
			return nil, false
		}
		vs = append(vs, pvs...)
	}
	return vs, true
}

// Policies returns every loaded policy, sorted by id, with its effective mode.
func (e *Engine) Policies() []Policy {
	out := make([]Policy, len(e.policies))
	for i, cp := range e.policies {
		out[i] = cp.meta
		out[i].Sets = append([]string(nil), cp.meta.Sets...)
	}
	return out
}

// Evaluate runs every policy that is not disabled against obj. An object in
// an excluded namespace is not evaluated (Result.Excluded says why). The
// effective namespace is metadata.namespace, "default" when unset. A policy
// that fails at run time is reported in Result.Skipped, not as an error;
// the error is for a cancelled context.
func (e *Engine) Evaluate(ctx context.Context, obj Object) (Result, error) {
	doc, err := NewDocument(obj)
	if err != nil {
		h := objectHeader{kind: str(obj["kind"])}
		if md, ok := obj["metadata"].(map[string]any); ok {
			h.name = str(md["name"])
		}
		return Result{Kind: h.kind, Name: h.name}, fmt.Errorf("convert %s %s to policy input: %w", h.kind, h.name, err)
	}
	return e.EvaluateDocument(ctx, doc)
}

// EvaluateDocument is Evaluate on a document already decoded. The document
// is shared with the policies' input and must not change during the call.
func (e *Engine) EvaluateDocument(ctx context.Context, doc *Document) (Result, error) {
	return e.EvaluateDocumentAt(ctx, doc, e.pssVersion)
}

// EvaluateAt is Evaluate with the Pod Security Standards as they stood at
// version v.
func (e *Engine) EvaluateAt(ctx context.Context, obj Object, v PSSVersion) (Result, error) {
	doc, err := NewDocument(obj)
	if err != nil {
		return Result{}, fmt.Errorf("convert %s to policy input: %w", str(obj["kind"]), err)
	}
	return e.EvaluateDocumentAt(ctx, doc, v)
}

// EvaluateDocumentAt is EvaluateDocument with the Pod Security Standards as
// they stood at version v: a control the Standards did not have yet
// reports nothing, and where the restricted policy of a control replaces a
// baseline one at v (the table's overrides) and is enabled, the baseline
// policy's violations stand only while the restricted one reports the
// object too, so verdicts are those of the API server at the restricted
// level (a Windows pod exempt from capabilities_restricted is not denied
// by capabilities_baseline), and a denied object still shows both.
func (e *Engine) EvaluateDocumentAt(ctx context.Context, doc *Document, v PSSVersion) (Result, error) {
	res, err := e.evaluate(ctx, doc, v)
	if err != nil || len(res.Violations) == 0 {
		return res, err
	}
	res.Violations = e.pssApply(res.Violations, v, e.restrictedEnabled)
	return res, nil
}

// restrictedEnabled reports whether control's policy is enabled: in
// EvaluateDocumentAt, the engine's level is restricted for each override
// whose restricted policy runs.
func (e *Engine) restrictedEnabled(control string) bool {
	_, ok := e.pssPolicy[control]
	return ok
}

// pssApply drops the violations of PSS controls not in effect at v and
// of baseline controls overridden at v by a restricted control for which
// overriding(control) holds and that reported nothing.
func (e *Engine) pssApply(vs []Violation, v PSSVersion, overriding func(string) bool) []Violation {
	// Controls as bits of the table's order: no map per review.
	var fired, drop uint64
	for _, x := range vs {
		c := e.pssControl[x.PolicyID]
		if c == "" {
			continue
		}
		bit := e.pss.bit[c]
		fired |= bit
		if !e.pss.inEffect(c, v) {
			drop |= bit
		}
	}
	if fired == 0 {
		return vs
	}
	for i, c := range e.pss.names {
		if fired&(1<<i) == 0 {
			continue
		}
		for _, r := range e.pss.overriders[c] {
			if fired&e.pss.bit[r] == 0 && e.pss.inEffect(r, v) && overriding(r) {
				drop |= 1 << i
			}
		}
	}
	if drop == 0 {
		return vs
	}
	out := vs[:0:0]
	for _, x := range vs {
		if c := e.pssControl[x.PolicyID]; c != "" && drop&e.pss.bit[c] != 0 {
			continue
		}
		out = append(out, x)
	}
	return out
}

// evaluate runs the policies with input.pss at version v.
func (e *Engine) evaluate(ctx context.Context, doc *Document, v PSSVersion) (Result, error) {
	h := readHeader(doc.obj)
	res := Result{Kind: h.kind, APIVersion: h.apiVersion, Namespace: h.namespace, Name: h.name, Violations: []Violation{}}
	ns := h.namespace
	if ns == "" {
		ns = "default"
	}
	if e.exclude[ns] {
		res.Excluded = fmt.Sprintf("namespace %s is excluded", ns)
		return res, nil
	}
	if len(e.include) > 0 && !e.include[ns] {
		res.Excluded = fmt.Sprintf("namespace %s is not included", ns)
		return res, nil
	}
	baseObj, images := buildInput(doc.obj, h, ns, e.exempt)
	skip := func(id, reason string) {
		if res.Skipped == nil {
			res.Skipped = map[string]string{}
		}
		res.Skipped[id] = reason
	}
	// Decide, per policy, whether it runs and with which params.
	runs := make([]planned, 0, len(e.policies))
	for _, cp := range e.policies {
		if cp.meta.Mode == ModeDisabled {
			continue
		}
		if missing := missingParams(cp.params, cp.requiredParams); len(missing) > 0 {
			skip(cp.meta.ID, fmt.Sprintf("parameter %s not set", strings.Join(missing, ", ")))
			continue
		}
		params := cp.paramsValue
		if cp.needsScan {
			if e.scan == nil {
				skip(cp.meta.ID, reasonNoScan)
				continue
			}
			var unknown []string
			params, unknown = e.scanParams(cp.paramsValue, images)
			if len(unknown) > 0 {
				skip(cp.meta.ID, "no scan results for image(s): "+strings.Join(unknown, ", "))
				res.UnknownImages = unknown
			}
		}
		runs = append(runs, planned{cp: cp, params: params})
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("evaluate %s %s: %w", h.kind, h.name, err)
	}
	all := e.allParams
	for _, r := range runs {
		if r.cp.needsScan { // per-object params: copy the static ones
			if all == e.allParams {
				all = e.allParams.Copy()
			}
			all.Insert(ast.StringTerm(r.cp.pkg), ast.NewTerm(r.params))
		}
	}
	baseObj.Insert(ast.StringTerm(paramsKey), ast.NewTerm(all))
	baseObj.Insert(ast.InternedTerm("pss"), e.pss.facts[e.pss.resolve(v)])
	if vs, ok := e.runCombined(ctx, baseObj, runs); ok {
		res.Violations = vs
		SortViolations(res.Violations)
		return res, nil
	}
	// One query per policy: the fallback when the combined query fails,
	// so a failing policy is named and the others still report.
	for _, r := range runs {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("evaluate %s %s: %w", h.kind, h.name, err)
		}
		vs, err := e.run(ctx, r.cp, withParams(baseObj, r.params))
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("evaluate %s %s: %w", h.kind, h.name, ctx.Err())
			}
			e.log.WarnContext(ctx, "policy evaluation failed", "policy", r.cp.meta.ID, "kind", h.kind, "name", h.name, "err", err)
			skip(r.cp.meta.ID, "evaluation error: "+err.Error())
			continue
		}
		res.Violations = append(res.Violations, vs...)
	}
	SortViolations(res.Violations)
	return res, nil
}

// planned is one policy to run on one object, with its params.
type planned struct {
	cp     *compiledPolicy
	params ast.Value
}

// withParams is the policy input: the object's input plus params.
func withParams(base ast.Object, params ast.Value) ast.Object {
	input := ast.NewObject()
	base.Foreach(func(k, v *ast.Term) { input.Insert(k, v) })
	input.Insert(ast.InternedTerm("params"), ast.NewTerm(params))
	return input
}

// run evaluates one policy's violation set.
func (e *Engine) run(ctx context.Context, cp *compiledPolicy, input ast.Value) ([]Violation, error) {
	rs, err := cp.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", cp.meta.ID, err)
	}
	var out []Violation
	for _, r := range rs {
		for _, ex := range r.Expressions {
			vs, err := violations(cp, ex.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
	}
	return out, nil
}

// keepTerm leaves a combined query's bindings as Rego terms: termViolations
// reads msg and path from them, cheaper than converting every policy's
// violation set to Go maps first.
func keepTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// termViolations reads one policy's violation set, as violations does.
func termViolations(cp *compiledPolicy, t *ast.Term) ([]Violation, error) {
	set, ok := t.Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("policy %s: violation is %s, want a set", cp.meta.ID, ast.ValueName(t.Value))
	}
	var out []Violation
	var err error
	set.Foreach(func(it *ast.Term) {
		obj, _ := it.Value.(ast.Object)
		msg := termString(obj, "msg")
		if msg == "" {
			err = fmt.Errorf("policy %s: violation without msg: %v", cp.meta.ID, it)
			return
		}
		out = append(out, Violation{
			PolicyID:    cp.meta.ID,
			Title:       cp.meta.Title,
			Severity:    cp.meta.Severity,
			Mode:        cp.meta.Mode,
			Message:     msg,
			Path:        termString(obj, "path"),
			Remediation: cp.meta.Remediation,
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// termString is obj[key] when it is a string, "" otherwise.
func termString(obj ast.Object, key string) string {
	if obj == nil {
		return ""
	}
	v := obj.Get(ast.InternedTerm(key))
	if v == nil {
		return ""
	}
	s, _ := v.Value.(ast.String)
	return string(s)
}

// violations reads one policy's violation set.
func violations(cp *compiledPolicy, v any) ([]Violation, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("policy %s: violation is %T, want a set", cp.meta.ID, v)
	}
	var out []Violation
	for _, it := range items {
		m, _ := it.(map[string]any)
		msg := str(m["msg"])
		if msg == "" {
			return nil, fmt.Errorf("policy %s: violation without msg: %v", cp.meta.ID, it)
		}
		out = append(out, Violation{
			PolicyID:    cp.meta.ID,
			Title:       cp.meta.Title,
			Severity:    cp.meta.Severity,
			Mode:        cp.meta.Mode,
			Message:     msg,
			Path:        str(m["path"]),
			Remediation: cp.meta.Remediation,
		})
	}
	return out, nil
}

// scanParams adds "scan": {image: verdict} to a policy's params for the
// images the verdict function knows, and returns the others.
func (e *Engine) scanParams(static ast.Value, images []string) (ast.Value, []string) {
	scan := ast.NewObject()
	var unknown []string
	for _, img := range images {
		v, known := e.scan(img)
		if !known {
			unknown = append(unknown, img)
			continue
		}
		scan.Insert(ast.StringTerm(img), e.verdicts.term(v))
	}
	obj, ok := static.(ast.Object)
	if ok {
		obj = obj.Copy()
	} else {
		obj = ast.NewObject()
	}
	obj.Insert(ast.StringTerm("scan"), ast.NewTerm(scan))
	return obj, unknown
}

// verdictMemo keeps the Rego value of each verdict seen: a webhook reviews
// the same few images over and over, and building the value was a sixth of
// the allocations of a review with verdicts. Values are never changed by
// evaluation, so they are shared. Bounded: emptied past maxVerdictMemo.
type verdictMemo struct {
	mu sync.Mutex
	m  map[model.ImageVerdict]*ast.Term
}

const maxVerdictMemo = 4096

func (vm *verdictMemo) term(v model.ImageVerdict) *ast.Term {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if t, ok := vm.m[v]; ok {
		return t
	}
	if vm.m == nil || len(vm.m) >= maxVerdictMemo {
		vm.m = make(map[model.ImageVerdict]*ast.Term)
	}
	t := ast.NewTerm(verdictValue(v))
	vm.m[v] = t
	return t
}

// verdictValue is a verdict as the policies read it: the counts by
// severity at the top, fixable and exempt counts beside them.
func verdictValue(v model.ImageVerdict) ast.Object {
	counts := func(c model.Counts) [][2]*ast.Term {
		return [][2]*ast.Term{
			ast.Item(ast.InternedTerm("critical"), ast.IntNumberTerm(c.Critical)),
			ast.Item(ast.InternedTerm("high"), ast.IntNumberTerm(c.High)),
			ast.Item(ast.InternedTerm("medium"), ast.IntNumberTerm(c.Medium)),
			ast.Item(ast.InternedTerm("low"), ast.IntNumberTerm(c.Low)),
			ast.Item(ast.InternedTerm("unknown"), ast.IntNumberTerm(c.Unknown)),
		}
	}
	items := counts(v.Counts)
	items = append(items,
		ast.Item(ast.InternedTerm("fixable"), ast.ObjectTerm(counts(v.Fixable)...)),
		ast.Item(ast.InternedTerm("exempt"), ast.ObjectTerm(counts(v.Exempt)...)),
		ast.Item(ast.InternedTerm("verdict"), ast.StringTerm(string(v.Verdict))),
		ast.Item(ast.InternedTerm("digest"), ast.StringTerm(v.Digest)),
		ast.Item(ast.InternedTerm("db_version"), ast.StringTerm(v.DBVersion)),
	)
	return ast.NewObject(items...)
}

// SortViolations orders violations by severity (worst first), policy id,
// then path and message.
func SortViolations(vs []Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.PolicyID != b.PolicyID {
			return a.PolicyID < b.PolicyID
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

func missingParams(params map[string]any, required []string) []string {
	var missing []string
	for _, k := range required {
		switch v := params[k].(type) {
		case nil:
			missing = append(missing, k)
		case string:
			if v == "" {
				missing = append(missing, k)
			}
		case []any:
			if len(v) == 0 {
				missing = append(missing, k)
			}
		}
	}
	return missing
}

func loadBuiltin(modules map[string]*ast.Module, pkgs map[string]bool) error {
	names, err := fs.Glob(builtinFS, "builtin/*.rego")
	if err != nil {
		return fmt.Errorf("list built-in policies: %w", err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		src, err := builtinFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read built-in policy %s: %w", name, err)
		}
		m, err := parseModule(name, src)
		if err != nil {
			return err
		}
		modules[name] = m
		if pkg, ok := policyPackage(m); ok {
			pkgs[pkg] = true
		}
	}
	return nil
}

// loadDir reads every *.rego (not *_test.rego) under dir, recursively.
func loadDir(dir string, modules map[string]*ast.Module) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") || strings.HasSuffix(path, "_test.rego") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		m, err := parseModule(path, src)
		if err != nil {
			return err
		}
		modules[path] = m
		return nil
	})
	if err != nil {
		return fmt.Errorf("load policy dir %s: %w", dir, err)
	}
	return nil
}

func parseModule(name string, src []byte) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parse policy %s: %w", name, err)
	}
	return m, nil
}

// policyPackage returns <name> for a module in package bulwark.policies.<name>.
func policyPackage(m *ast.Module) (string, bool) {
	p := m.Package.Path
	if len(p) != len(policyPrefix)+1 || !p.HasPrefix(policyPrefix) {
		return "", false
	}
	s, ok := p[len(p)-1].Value.(ast.String)
	return string(s), ok
}

// policyPackages lists the policy packages, each of which must be one module.
func policyPackages(modules map[string]*ast.Module) ([]string, error) {
	files := map[string]string{}
	var pkgs []string
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pkg, ok := policyPackage(modules[n])
		if !ok {
			continue // a library module
		}
		if other, dup := files[pkg]; dup {
			return nil, fmt.Errorf("policy package bulwark.policies.%s is declared by both %s and %s", pkg, other, n)
		}
		files[pkg] = n
		pkgs = append(pkgs, pkg)
	}
	return pkgs, nil
}

func readMetadata(ctx context.Context, compiler *ast.Compiler, pkg string) (metadataDoc, error) {
	var md metadataDoc
	rs, err := rego.New(rego.Compiler(compiler), rego.Query(fmt.Sprintf("data.bulwark.policies.%s.metadata", pkg))).Eval(ctx)
	if err != nil {
		return md, fmt.Errorf("read metadata of policy %s: %w", pkg, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return md, fmt.Errorf("policy bulwark.policies.%s has no metadata", pkg)
	}
	b, err := json.Marshal(rs[0].Expressions[0].Value)
	if err != nil {
		return md, fmt.Errorf("read metadata of policy %s: %w", pkg, err)
	}
	if err := json.Unmarshal(b, &md); err != nil {
		return md, fmt.Errorf("decode metadata of policy %s: %w", pkg, err)
	}
	return md, nil
}

func validateMetadata(pkg string, md metadataDoc, builtin bool) (Policy, error) {
	var errs []error
	if md.ID == "" {
		errs = append(errs, errors.New("no id"))
	}
	if md.Title == "" {
		errs = append(errs, errors.New("no title"))
	}
	sev := model.Severity(md.Severity)
	switch sev {
	case model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow, model.SeverityInfo:
	default:
		errs = append(errs, fmt.Errorf("severity %q is not critical, high, medium, low or info", md.Severity))
	}
	mode := Mode(md.DefaultMode)
	switch mode {
	case ModeAudit, ModeEnforce, ModeDisabled:
	default:
		errs = append(errs, fmt.Errorf("default_mode %q is not audit, enforce or disabled", md.DefaultMode))
	}
	sets := md.Sets
	if len(sets) == 0 {
		if builtin {
			errs = append(errs, errors.New("a built-in policy must name its sets"))
		}
		sets = []string{SetCustom}
	}
	for _, s := range sets {
		if !contains(KnownSets(), s) {
			errs = append(errs, fmt.Errorf("unknown set %q", s))
		}
	}
	for _, r := range md.Requires {
		if r != "scan" {
			errs = append(errs, fmt.Errorf("unknown requirement %q", r))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Policy{}, fmt.Errorf("policy bulwark.policies.%s metadata: %w", pkg, err)
	}
	return Policy{
		ID: md.ID, Title: md.Title, Severity: sev, Description: md.Description,
		Remediation: md.Remediation, DefaultMode: mode, Sets: sets,
		PSSControl: md.PSSControl, Builtin: builtin,
	}, nil
}

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func anyIn(list []string, set map[string]bool) bool {
	for _, s := range list {
		if set[s] {
			return true
		}
	}
	return false
}
