package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/jsonast"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/text"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Evaluator evaluates one Kubernetes object; *policy.Engine is one.
type Evaluator interface {
	EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error)
}

var _ Evaluator = (*policy.Engine)(nil)

// NamespacedEvaluator also applies a namespace's Pod Security policy;
// *policy.Engine is one.
type NamespacedEvaluator interface {
	Evaluator
	EvaluateNamespaced(ctx context.Context, doc *policy.Document, ns policy.PSSNamespace) (policy.NamespacedResult, error)
}

var _ NamespacedEvaluator = (*policy.Engine)(nil)

const (
	// MaxBodySize bounds an AdmissionReview body (the API server caps
	// objects at 3 MiB in etcd, so a larger review is not a real one).
	MaxBodySize = 3 << 20
	// DefaultTimeout is the per-request evaluation budget.
	DefaultTimeout = 2 * time.Second
	// AuditAnnotationKey is the audit annotation listing audit-mode
	// violations; the API server prefixes it with the webhook name.
	AuditAnnotationKey = "violations"
	// MaxWarnings and MaxWarningLen bound AdmissionResponse.warnings.
	MaxWarnings   = 20
	MaxWarningLen = 256
	// maxAnnotationLen bounds the audit annotation value.
	maxAnnotationLen = 16 << 10
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Evaluator Evaluator
	// ExemptNamespaces are admitted without evaluation; nil means
	// kube-system, an empty non-nil slice means none.
	ExemptNamespaces []string
	Timeout          time.Duration // default DefaultTimeout
	// FailOpen admits (with a warning) when evaluation times out or fails;
	// otherwise such requests are denied.
	FailOpen bool
	Logger   *slog.Logger
	Metrics  *Metrics // nil: not recorded
	// Namespaces, when set, gives each namespace's Pod Security policy
	// (its pod-security.kubernetes.io labels): in a namespace that has
	// one, the PSS policies deny, warn and annotate as its enforce, warn
	// and audit levels say, as the API server's PodSecurity admission;
	// elsewhere they apply with their configured modes. The Evaluator
	// must then be a NamespacedEvaluator.
	Namespaces NamespacePolicies
	// ImageVulnsUnknown decides the images BW-K8S-IMAGE-VULNS ran without
	// a verdict for (the server does not know them, none is cached yet,
	// or the server is unreachable and none was held): UnknownWarn (the
	// default) admits with a warning, UnknownDeny denies, UnknownAllow
	// admits silently. Only with an evaluator that has a verdict function
	// (policy.WithImageVerdicts) and the policy enabled.
	ImageVulnsUnknown UnknownAction
}

// UnknownAction is what the webhook does with an image without a verdict.
type UnknownAction string

const (
	UnknownAllow UnknownAction = "allow"
	UnknownWarn  UnknownAction = "warn"
	UnknownDeny  UnknownAction = "deny"
)

// ParseUnknownAction reads --image-vulns-unknown.
func ParseUnknownAction(s string) (UnknownAction, error) {
	switch a := UnknownAction(s); a {
	case UnknownAllow, UnknownWarn, UnknownDeny:
		return a, nil
	}
	return "", fmt.Errorf("%q: want allow, warn or deny", s)
}

// unknownViolations turns the images without a verdict into violations of
// BW-K8S-IMAGE-VULNS in the mode the unknown action says.
func unknownViolations(images []string, a UnknownAction) []policy.Violation {
	mode := policy.ModeAudit
	switch a {
	case UnknownAllow:
		return nil
	case UnknownDeny:
		mode = policy.ModeEnforce
	}
	out := make([]policy.Violation, 0, len(images))
	for _, img := range images {
		out = append(out, policy.Violation{PolicyID: policy.ImageVulnsPolicy, Title: "Container image without a vulnerability verdict", Severity: "high", Mode: mode,
			Message:     fmt.Sprintf("image %q has no vulnerability verdict from the Bulwark server (not scanned yet, or the server is unreachable); the webhook's --image-vulns-unknown is %s", img, a),
			Remediation: "scan the image and send it to the server (bulwark scan image REF --server …), or let the server's registry watch scan it"})
	}
	return out
}

// Handler serves AdmissionReview requests.
type Handler struct {
	eval     Evaluator
	exempt   map[string]bool
	timeout  time.Duration
	failOpen bool
	log      *slog.Logger
	metrics  *Metrics
	// warm hands evaluations to idle long-lived goroutines (see evaluate);
	// closing stop ends them.
	warm      chan func()
	stop      chan struct{}
	closeOnce sync.Once
	// ns and nsEval are HandlerOptions.Namespaces and the evaluator that
	// applies it.
	ns     NamespacePolicies
	nsEval NamespacedEvaluator
	// unknown is HandlerOptions.ImageVulnsUnknown.
	unknown UnknownAction
}

// warmWorkers is how many long-lived goroutines run evaluations. Rego
// evaluation recurses deeply: on a fresh goroutine every request paid for
// growing its stack from 8 KiB again (runtime.copystack was an eighth of
// the webhook's CPU under load), a warm goroutine keeps its grown stack.
const warmWorkers = 8

// NewHandler checks the options and returns a Handler.
func NewHandler(o HandlerOptions) (*Handler, error) {
	if o.Evaluator == nil {
		return nil, errors.New("admission handler: no evaluator")
	}
	ex := o.ExemptNamespaces
	if ex == nil {
		ex = []string{"kube-system"}
	}
	h := &Handler{eval: o.Evaluator, exempt: map[string]bool{}, timeout: o.Timeout, failOpen: o.FailOpen, log: o.Logger, metrics: o.Metrics,
		warm: make(chan func()), stop: make(chan struct{}), ns: o.Namespaces, unknown: o.ImageVulnsUnknown}
	if h.unknown == "" {
		h.unknown = UnknownWarn
	}
	if _, err := ParseUnknownAction(string(h.unknown)); err != nil {
		return nil, fmt.Errorf("admission handler: image vulnerabilities unknown: %w", err)
	}
	if h.ns != nil {
		ne, ok := o.Evaluator.(NamespacedEvaluator)
		if !ok {
			return nil, errors.New("admission handler: namespace policies need an evaluator that applies them")
		}
		h.nsEval = ne
	}
	for range warmWorkers {
		go func() {
			for {
				select {
				case f := <-h.warm:
					f()
				case <-h.stop:
					return
				}
			}
		}()
	}
	for _, ns := range ex {
		h.exempt[ns] = true
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Close stops the handler's evaluation workers once the evaluations they
// run have returned; a review after Close still works, on a goroutine of
// its own.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.stop) })
}

// Decisions, the label of the requests metric.
const (
	DecisionAllow   = "allow"   // evaluated, nothing violated
	DecisionWarn    = "warn"    // admitted with audit-mode violations
	DecisionDeny    = "deny"    // enforce-mode violations
	DecisionSkip    = "skip"    // DELETE/CONNECT, exempt or excluded namespace
	DecisionFailure = "failure" // timeout or engine error (failOpen decided)
	DecisionInvalid = "invalid" // not a valid AdmissionReview (HTTP 4xx)
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	decision := DecisionInvalid
	defer func() { h.metrics.observe(decision, time.Since(start)) }()

	review, code, err := decodeReview(w, r)
	if err != nil {
		h.log.WarnContext(r.Context(), "bad admission request", "status", code, "err", err, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), code)
		return
	}
	req := review.Request
	doc, objErr := documentFrom(req, review.object)
	var syntax *jsonast.SyntaxError
	if errors.As(objErr, &syntax) { // request.object is not JSON: not a review at all
		h.log.WarnContext(r.Context(), "bad admission request", "status", http.StatusBadRequest, "err", objErr, "remote", r.RemoteAddr)
		http.Error(w, "decode AdmissionReview: "+objErr.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	// The API server says how long it waits (?timeout=5s, the webhook's
	// timeoutSeconds): the review's deadline is its own, whatever happens
	// to the server meanwhile (a SIGTERM does not cut it short).
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(d))
		defer cancel()
	}
	resp, decision := h.review(ctx, req, doc, objErr)
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	b, err := json.Marshal(out)
	if err != nil {
		decision = DecisionInvalid
		http.Error(w, "encode AdmissionReview: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// wireReview is an AdmissionReview decoded in one pass over the body:
// request.object is decoded once, straight into the policy input, and the
// small rest of the review by encoding/json.
type wireReview struct {
	metav1.TypeMeta
	Request *admissionv1.AdmissionRequest // Object and OldObject left empty
	object  []byte                        // request.object's JSON; nil when absent
}

// decodeReview checks method, content type, size and apiVersion.
func decodeReview(w http.ResponseWriter, r *http.Request) (*wireReview, int, error) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s: AdmissionReviews are POSTed", r.Method)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBodySize)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	review, err := splitReview(body)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decode AdmissionReview: %w", err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return nil, http.StatusBadRequest, fmt.Errorf("got apiVersion %q kind %q: want admission.k8s.io/v1 AdmissionReview (set admissionReviewVersions: [v1])", review.APIVersion, review.Kind)
	}
	if review.Request == nil || review.Request.UID == "" {
		return nil, http.StatusBadRequest, errors.New("AdmissionReview has no request or no request.uid")
	}
	return review, http.StatusOK, nil
}

// splitReview decodes an AdmissionReview as encoding/json would into
// admissionv1.AdmissionReview (keys matched case-insensitively, the last
// of repeated keys winning), except that request.object is kept as raw
// JSON and request.oldObject is dropped (no policy reads it). The members
// other than those are re-assembled and decoded by encoding/json: a few
// hundred bytes, where the object is most of the body.
func splitReview(body []byte) (*wireReview, error) {
	review := &wireReview{}
	var top, request, requestRaw []byte
	// Members bounds values without checking them: each is checked by
	// what reads it, or by jsonast.Valid when dropped.
	err := jsonast.Members(body, func(key string, raw []byte) error {
		if isField(key, "request") {
			if requestRaw != nil {
				if err := jsonast.Valid(requestRaw); err != nil {
					return err
				}
			}
			requestRaw = raw
			return nil
		}
		top = appendMember(top, key, raw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rest admissionv1.AdmissionReview // request left out; response checked as the typed decoder would
	if err := json.Unmarshal(closeObject(top), &rest); err != nil {
		return nil, err
	}
	review.TypeMeta = rest.TypeMeta
	if requestRaw == nil || string(requestRaw) == "null" {
		return review, nil
	}
	if requestRaw[0] != '{' { // what encoding/json would refuse
		return nil, fmt.Errorf("request is a JSON %s, not an object", rawKind(requestRaw))
	}
	err = jsonast.Members(requestRaw, func(key string, raw []byte) error {
		switch {
		case isField(key, "object"):
			if review.object != nil {
				if err := jsonast.Valid(review.object); err != nil {
					return err
				}
			}
			review.object = raw
			if string(raw) == "null" {
				review.object = nil
			}
		case isField(key, "oldObject"):
			return jsonast.Valid(raw)
		default:
			request = appendMember(request, key, raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	review.Request = &admissionv1.AdmissionRequest{}
	if err := json.Unmarshal(closeObject(request), review.Request); err != nil {
		return nil, err
	}
	return review, nil
}

// isField reports whether encoding/json would decode a member named key
// into the struct field tagged name: an exact match, or one under its case
// folding. For ASCII keys that is strings.EqualFold; encoding/json folds
// some other letters too ("ſ" matches "s"), so a non-ASCII key is put to
// encoding/json itself.
func isField(key, name string) bool {
	if key == name {
		return true
	}
	if isASCII(key) {
		return strings.EqualFold(key, name)
	}
	if utf8.RuneCountInString(key) != len(name) { // folding maps rune to rune
		return false
	}
	b, err := json.Marshal(map[string]int{key: 1})
	if err != nil {
		return false
	}
	var hit *int
	switch name {
	case "request":
		var v struct {
			F *int `json:"request"`
		}
		_ = json.Unmarshal(b, &v)
		hit = v.F
	case "object":
		var v struct {
			F *int `json:"object"`
		}
		_ = json.Unmarshal(b, &v)
		hit = v.F
	case "oldObject":
		var v struct {
			F *int `json:"oldObject"`
		}
		_ = json.Unmarshal(b, &v)
		hit = v.F
	}
	return hit != nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func appendMember(dst []byte, key string, raw []byte) []byte {
	if len(dst) == 0 {
		dst = append(dst, '{')
	} else {
		dst = append(dst, ',')
	}
	k, _ := json.Marshal(key)
	dst = append(dst, k...)
	dst = append(dst, ':')
	return append(dst, raw...)
}

func closeObject(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return append(b, '}')
}

func rawKind(raw []byte) string {
	switch raw[0] {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// Review decides one admission request; it never fails (problems become
// the response) and returns the decision for metrics.
func (h *Handler) Review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	raw := bytes.TrimSpace(req.Object.Raw)
	if string(raw) == "null" {
		raw = nil
	}
	doc, err := documentFrom(req, raw)
	return h.review(ctx, req, doc, err)
}

// review is Review with request.object already decoded (objErr: why it
// could not be).
func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest, doc *policy.Document, objErr error) (*admissionv1.AdmissionResponse, string) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	dryRun := req.DryRun != nil && *req.DryRun
	// The request's attributes are formatted only for a record that is
	// logged: slog's With formats them at once, on every review.
	log := func(level slog.Level, msg string, args ...any) {
		if !h.log.Enabled(ctx, level) {
			return
		}
		args = append(args, "uid", string(req.UID), "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", string(req.Operation), "dry_run", dryRun)
		h.log.Log(ctx, level, msg, args...)
	}
	switch req.Operation {
	case admissionv1.Delete, admissionv1.Connect:
		return resp, DecisionSkip
	}
	if h.exempt[req.Namespace] {
		log(slog.LevelDebug, "exempt namespace")
		return resp, DecisionSkip
	}
	if objErr != nil {
		log(slog.LevelWarn, "undecodable object", "err", objErr)
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: "bulwark: " + objErr.Error()}
		return resp, DecisionInvalid
	}

	var pss *policy.PSSNamespace
	if h.ns != nil {
		if p, ok := h.ns.PodSecurity(req.Namespace); ok {
			pss = &p
		}
	}
	res, err := h.evaluate(ctx, doc, pss)
	if err != nil {
		log(slog.LevelWarn, "policy evaluation failed", "err", err, "fail_open", h.failOpen)
		if h.failOpen {
			resp.Warnings = []string{truncate("bulwark: policies not checked (" + err.Error() + "); admitted because the webhook fails open")}
			return resp, DecisionFailure
		}
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError,
			Message: "bulwark: policies could not be checked (" + err.Error() + "); denied because the webhook fails closed"}
		return resp, DecisionFailure
	}
	if res.Excluded != "" {
		return resp, DecisionSkip
	}
	var enforce, warn, audit []policy.Violation
	others := res.Violations
	if pss != nil { // the PSS violations by the namespace's modes, as PodSecurity admission applies them
		others = res.Other
		audit = slices.Clone(res.Audit)
		switch {
		case req.Kind.Kind != "Pod":
			// A workload template is only warned about and audited: its
			// pods are what the enforce level denies.
			warn = slices.Clone(res.Warn)
		case len(res.Enforce) > 0:
			// No warnings on a pod the enforce level denies anyway.
			enforce = slices.Clone(res.Enforce)
		default:
			warn = slices.Clone(res.Warn)
		}
	}
	if len(res.UnknownImages) > 0 {
		others = append(slices.Clip(others), unknownViolations(res.UnknownImages, h.unknown)...)
	}
	for _, v := range others {
		switch v.Mode {
		case policy.ModeAudit:
			warn = append(warn, v)
			audit = append(audit, v)
		case policy.ModeDisabled:
		default: // enforce, and an unset mode errs on the safe side
			enforce = append(enforce, v)
		}
	}
	decision := DecisionAllow
	if len(warn) > 0 || len(audit) > 0 {
		decision = DecisionWarn
	}
	if len(warn) > 0 {
		resp.Warnings = warnings(warn)
	}
	if len(audit) > 0 {
		resp.AuditAnnotations = map[string]string{AuditAnnotationKey: annotation(audit)}
	}
	if len(enforce) > 0 {
		decision = DecisionDeny
		resp.Allowed = false
		msg := denyMessage(req, doc, enforce)
		if pss != nil {
			msg += fmt.Sprintf("\n(namespace %s: Pod Security enforce %s)", req.Namespace, pss.Enforce)
		}
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
			Message: msg}
	}
	log(slog.LevelInfo, "reviewed", "decision", decision, "enforce", len(enforce), "warn", len(warn), "audit", len(audit))
	return resp, decision
}

// errPanic is what a review is told of a panicking evaluation; the panic
// value and stack go to the log only.
var errPanic = errors.New("internal error in policy evaluation (logged)")

// evaluate runs the evaluator under the timeout, under the namespace's
// Pod Security policy when pss is set; an evaluator that ignores its
// context is abandoned (its goroutine finishes on its own). A panic in the
// evaluator is recovered, logged with its stack and counted; the review
// gets errPanic, so the failure mode decides it, and the worker goes on.
func (h *Handler) evaluate(ctx context.Context, doc *policy.Document, pss *policy.PSSNamespace) (policy.NamespacedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	type out struct {
		res policy.NamespacedResult
		err error
	}
	ch := make(chan out, 1)
	run := func() {
		defer func() {
			if p := recover(); p != nil {
				h.metrics.panicked()
				h.log.ErrorContext(ctx, "policy evaluation panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				ch <- out{err: errPanic}
			}
		}()
		if pss != nil {
			r, err := h.nsEval.EvaluateNamespaced(ctx, doc, *pss)
			ch <- out{r, err}
			return
		}
		r, err := h.eval.EvaluateDocument(ctx, doc)
		ch <- out{policy.NamespacedResult{Result: r}, err}
	}
	select {
	case h.warm <- run: // an idle warm goroutine took it
	default: // all busy (or stuck on an evaluator that ignores ctx): a fresh one
		go run()
	}
	select {
	case o := <-ch:
		if o.err != nil && o.err != errPanic && ctx.Err() != nil {
			return o.res, fmt.Errorf("evaluation timed out after %s", h.timeout)
		}
		return o.res, o.err
	case <-ctx.Done():
		return policy.NamespacedResult{}, fmt.Errorf("evaluation timed out after %s", h.timeout)
	}
}

// documentFrom decodes request.object (raw; nil when absent or null) and
// fills metadata.namespace and name from the request (a CREATE may leave
// them empty).
func documentFrom(req *admissionv1.AdmissionRequest, raw []byte) (*policy.Document, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s request for %s has no object", req.Operation, req.Kind.Kind)
	}
	doc, err := policy.ParseDocument(raw)
	if err != nil {
		return nil, fmt.Errorf("decode request.object: %w", err)
	}
	doc.SetMetadataDefaults(req.Namespace, req.Name)
	return doc, nil
}

// group collects violations by policy id, in first-seen order.
func group(vs []policy.Violation) [][]policy.Violation {
	var ids []string
	by := map[string][]policy.Violation{}
	for _, v := range vs {
		if _, ok := by[v.PolicyID]; !ok {
			ids = append(ids, v.PolicyID)
		}
		by[v.PolicyID] = append(by[v.PolicyID], v)
	}
	out := make([][]policy.Violation, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out
}

func objectName(req *admissionv1.AdmissionRequest, doc *policy.Document) string {
	name := doc.Metadata("name")
	if name == "" {
		name = doc.Metadata("generateName")
		if name != "" {
			name += "*"
		}
	}
	if req.Namespace != "" {
		name = req.Namespace + "/" + name
	}
	return req.Kind.Kind + " " + name
}

// denyMessage lists every violated policy with its messages and remediation.
func denyMessage(req *admissionv1.AdmissionRequest, doc *policy.Document, vs []policy.Violation) string {
	groups := group(vs)
	var b strings.Builder
	fmt.Fprintf(&b, "bulwark: %s violates %d polic%s:", objectName(req, doc), len(groups), plural(len(groups), "y", "ies"))
	for _, g := range groups {
		msgs := make([]string, 0, len(g))
		for _, v := range g {
			if !slices.Contains(msgs, v.Message) {
				msgs = append(msgs, v.Message)
			}
		}
		fmt.Fprintf(&b, "\n[%s] %s", g[0].PolicyID, strings.Join(msgs, "; "))
		if r := strings.TrimSpace(g[0].Remediation); r != "" {
			fmt.Fprintf(&b, " (fix: %s)", r)
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// warnings turns audit-mode violations into at most MaxWarnings warnings of
// at most MaxWarningLen bytes; the last says how many were left out.
func warnings(vs []policy.Violation) []string {
	var out []string
	for _, v := range vs {
		w := fmt.Sprintf("bulwark [%s] %s", v.PolicyID, v.Message)
		if v.Remediation != "" {
			w += " (fix: " + v.Remediation + ")"
		}
		out = append(out, truncate(w))
	}
	if len(out) > MaxWarnings {
		rest := len(out) - (MaxWarnings - 1)
		out = append(out[:MaxWarnings-1], fmt.Sprintf("bulwark: %d more audit-mode violations (see the audit log)", rest))
	}
	return out
}

// truncate makes one warning: a single line of at most MaxWarningLen bytes.
func truncate(s string) string {
	return text.Truncate(strings.ReplaceAll(s, "\n", " "), MaxWarningLen)
}

type annotationEntry struct {
	Policy  string `json:"policy"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
}

// annotation is a JSON array of the audit-mode violations, bounded in size.
func annotation(vs []policy.Violation) string {
	entries := make([]annotationEntry, 0, len(vs))
	for _, v := range vs {
		entries = append(entries, annotationEntry{Policy: v.PolicyID, Message: v.Message, Path: v.Path})
	}
	for {
		b, _ := json.Marshal(entries)
		if len(b) <= maxAnnotationLen || len(entries) <= 1 {
			return string(b)
		}
		entries = entries[:len(entries)/2]
	}
}
