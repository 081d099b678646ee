// Package ingest turns a report as a capability writes it (docs/schema.md)
// into one store batch: it recognises the kind, validates it, derives the
// inventory and identities, and — for image inventories — has the server's
// own vulnerability DB judge the packages: findings a client computed are
// never trusted.
package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/dockerbench"
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/sbom"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Kind is a report kind.
type Kind string

const (
	KindImage       Kind = "image"        // model.Report of scan image / scan sbom / sbom
	KindSBOM        Kind = "sbom"         // CycloneDX or SPDX JSON
	KindDockerBench Kind = "docker-bench" // bench docker -f json
	KindK8sPolicy   Kind = "k8s-policy"   // scan k8s / audit k8s -f json
	KindAlerts      Kind = "alerts"       // one alert document or an array of them
	KindK8sBench    Kind = "k8s-bench"    // bench k8s -f json
	KindK8sDelta    Kind = "k8s-delta"    // the cluster agent's incremental message
)

// Kinds lists the kinds ingestion accepts.
func Kinds() []Kind {
	return []Kind{KindImage, KindSBOM, KindDockerBench, KindK8sPolicy, KindK8sBench, KindK8sDelta, KindAlerts}
}

// ErrInvalid wraps every error in the report itself (a 4xx); other errors
// are the server's (5xx).
var ErrInvalid = errors.New("invalid report")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Limits bound what one report may hold.
type Limits struct {
	Packages    int
	Resources   int
	Assessments int
	Alerts      int
}

// DefaultLimits hold the largest real images (tens of thousands of
// packages) and clusters (tens of thousands of objects).
func DefaultLimits() Limits {
	return Limits{Packages: 200_000, Resources: 100_000, Assessments: 2_000_000, Alerts: 10_000}
}

// Matcher judges an image's packages with the server's vulnerability DB,
// filling rep's findings, summary and assessments; it returns the DB's
// version. ErrNoDB when the server has none yet.
type Matcher interface {
	Match(ctx context.Context, rep *model.Report) (dbVersion string, err error)
}

// ErrNoDB: the server has no vulnerability DB yet.
var ErrNoDB = errors.New("the server has no vulnerability DB yet")

// Options for Prepare.
type Options struct {
	Matcher Matcher
	Limits  Limits
	Now     func() time.Time
}

// Prepared is a validated report ready to store.
type Prepared struct {
	Kind   Kind
	Batch  *store.Batch
	Target *auth.Target // the host or cluster the report writes for, if any
	// Verdict is an image's verdict as the server judged it.
	Verdict *model.Summary
	// Report is the image report as matched by the server.
	Report *model.Report
}

// Detect tells a report's kind from its content.
func Detect(body []byte) (Kind, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", invalid("empty body")
	}
	if body[0] == '[' {
		return KindAlerts, nil
	}
	var probe struct {
		SchemaVersion string          `json:"schema_version"`
		BOMFormat     string          `json:"bomFormat"`
		SPDXVersion   string          `json:"spdxVersion"`
		Benchmark     string          `json:"benchmark"`
		Policies      json.RawMessage `json:"policies"`
		Results       json.RawMessage `json:"results"`
		Image         json.RawMessage `json:"image"`
		Type          string          `json:"type"`
		FirstSeen     string          `json:"first_seen"`
		Delta         string          `json:"delta"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return "", invalid("not a JSON document: %v", err)
	}
	switch {
	case probe.Delta != "":
		return KindK8sDelta, nil
	case probe.BOMFormat != "" || probe.SPDXVersion != "":
		return KindSBOM, nil
	case strings.HasPrefix(probe.Benchmark, "CIS Docker"):
		return KindDockerBench, nil
	case strings.HasPrefix(probe.Benchmark, "CIS Kubernetes"):
		return KindK8sBench, nil
	case probe.Policies != nil && probe.Results != nil:
		return KindK8sPolicy, nil
	case probe.Image != nil:
		return KindImage, nil
	case probe.Type != "" && probe.FirstSeen != "":
		return KindAlerts, nil
	}
	return "", invalid("not a Bulwark report: expected an image report, an SBOM, a CIS Docker report, a Kubernetes policy report or alerts (docs/schema.md)")
}

func checkSchema(v string) error {
	if v == "" {
		return invalid("no schema_version")
	}
	major, _, _ := strings.Cut(v, ".")
	if major != model.SchemaVersion {
		return invalid("schema_version %q is not supported (this server reads %s)", v, model.SchemaVersion)
	}
	return nil
}

// decode reads a JSON document strictly enough: one document, no trailing
// data. Unknown fields are allowed (documents only ever gain fields).
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalid("decode: %v", err)
	}
	if dec.More() {
		return invalid("trailing data after the document")
	}
	return nil
}

// contentHash hashes a document with its times removed, so the same
// assessment made again is recognised.
func contentHash(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		h := sha256.Sum256(body)
		return hex.EncodeToString(h[:])
	}
	v = stripTimes(v)
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

var timeKeys = map[string]bool{"generated_at": true, "observed_at": true}

func stripTimes(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k := range t {
			if timeKeys[k] {
				delete(t, k)
				continue
			}
			t[k] = stripTimes(t[k])
		}
	case []any:
		for i := range t {
			t[i] = stripTimes(t[i])
		}
	}
	return v
}

// Prepare validates a report of the given kind ("" to detect) and turns it
// into a batch.
func Prepare(ctx context.Context, kind Kind, body []byte, o Options) (*Prepared, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	if kind == "" {
		k, err := Detect(body)
		if err != nil {
			return nil, err
		}
		kind = k
	}
	switch kind {
	case KindImage:
		var rep model.Report
		if err := decode(body, &rep); err != nil {
			return nil, err
		}
		if err := checkSchema(rep.SchemaVersion); err != nil {
			return nil, err
		}
		if hostKinds[rep.Resource.Kind] {
			return prepareHost(ctx, &rep, o)
		}
		return prepareImage(ctx, &rep, o)
	case KindSBOM:
		doc, err := sbom.Decode(bytes.NewReader(body))
		if err != nil {
			return nil, invalid("%v", err)
		}
		rep := &model.Report{SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "bulwark-server"}, GeneratedAt: o.Now().UTC(),
			Image: doc.Subject, Distro: doc.Distro, Packages: doc.Packages}
		rep.Image.Source = "sbom:" + doc.Format
		rep.Resource = model.Resource{Kind: model.KindImage, ID: rep.Image.Digest, Name: rep.Image.Reference}
		if rep.Resource.ID == "" {
			rep.Resource.ID = rep.Image.ConfigDigest
		}
		return prepareImage(ctx, rep, o)
	case KindDockerBench:
		var rep dockerbench.Report
		if err := decode(body, &rep); err != nil {
			return nil, err
		}
		if err := checkSchema(rep.SchemaVersion); err != nil {
			return nil, err
		}
		return prepareDockerBench(&rep, contentHash(body), o)
	case KindK8sPolicy:
		var rep policyreport.Report
		if err := decode(body, &rep); err != nil {
			return nil, err
		}
		if err := checkSchema(rep.SchemaVersion); err != nil {
			return nil, err
		}
		return preparePolicy(&rep, contentHash(body), o)
	case KindK8sDelta:
		var d policyreport.Delta
		if err := decode(body, &d); err != nil {
			return nil, err
		}
		if err := checkSchema(d.SchemaVersion); err != nil {
			return nil, err
		}
		return prepareDelta(&d, o)
	case KindK8sBench:
		var rep k8sbench.Report
		if err := decode(body, &rep); err != nil {
			return nil, err
		}
		if err := checkSchema(rep.SchemaVersion); err != nil {
			return nil, err
		}
		return prepareK8sBench(&rep, contentHash(body), o)
	case KindAlerts:
		var alerts []model.Alert
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
			if err := decode(body, &alerts); err != nil {
				return nil, err
			}
		} else {
			var a struct {
				SchemaVersion string `json:"schema_version"`
				model.Alert
			}
			if err := decode(body, &a); err != nil {
				return nil, err
			}
			if err := checkSchema(a.SchemaVersion); err != nil {
				return nil, err
			}
			alerts = []model.Alert{a.Alert}
		}
		return prepareAlerts(alerts, o)
	}
	return nil, invalid("unknown report kind %q", kind)
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func checkID(what, id string) error {
	if id == "" {
		return invalid("%s: no id", what)
	}
	if len(id) > 1024 || strings.ContainsAny(id, "\x00\n\r") {
		return invalid("%s: id %.64q is not a valid resource id", what, id)
	}
	return nil
}

func prepareImage(ctx context.Context, rep *model.Report, o Options) (*Prepared, error) {
	info := rep.Image
	id := info.Digest
	if id == "" {
		id = info.ConfigDigest
	}
	if id == "" {
		return nil, invalid("image: neither a manifest digest nor a config digest: the server keys images on their digest")
	}
	if !digestRE.MatchString(id) {
		return nil, invalid("image: digest %.80q is not sha256:<64 hex>", id)
	}
	if rep.Resource.ID != "" && rep.Resource.ID != id && rep.Resource.ID != info.ConfigDigest {
		return nil, invalid("image: resource id %q is not the image's digest %q", rep.Resource.ID, id)
	}
	if len(rep.Packages) > o.Limits.Packages {
		return nil, invalid("image: %d packages, more than the limit of %d", len(rep.Packages), o.Limits.Packages)
	}
	for i, p := range rep.Packages {
		if p.Name == "" || len(p.Name) > 1024 || len(p.Version) > 1024 {
			return nil, invalid("image: package %d: empty or oversized name or version", i)
		}
	}
	// The inventory is the client's; its verdict is the server's.
	rep.Findings, rep.Assessments, rep.Summary = nil, nil, model.Summary{Packages: len(rep.Packages)}
	rep.Resource = imageResource(rep, id)
	inv, err := encodeInventory(rep)
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	b := &store.Batch{Kind: string(KindImage), Subject: id, At: o.Now(), Inventory: inv}
	b.Resources, b.ImageRefs = imageInventory(rep, id)
	dbVersion, err := matchWith(ctx, o, rep)
	switch {
	case errors.Is(err, ErrNoDB):
		// Stored all the same; read "not assessed" until the DB comes and
		// the inventory is matched again.
		rep.Findings = []model.Finding{}
		rep.Summary.Verdict = model.VerdictNotAssessed
		rep.Summary.Coverage = []model.CoveragePart{{Name: "all packages", Kind: model.CoverageOS, Packages: len(rep.Packages),
			Reason: "the server has no vulnerability DB yet", Need: "the server's DB update (--db-source, or the public upstreams) to complete"}}
		rep.Assessments = []model.Assessment{{Rule: "VULN-image", Title: "Container images should have vulnerability findings resolved", Status: model.AssessNotAssessed,
			Severity: model.SeverityHigh, Evidence: []string{"the server has no vulnerability DB yet"}, ObservedAt: o.Now().UTC()}}
	case err != nil:
		return nil, fmt.Errorf("match image %s: %w", id, err)
	default:
		b.Matched = true
	}
	b.Findings = rep.Findings
	b.Health = &store.Health{Verdict: rep.Summary.Verdict, Counts: rep.Summary.Counts, DBVersion: dbVersion}
	b.Source = "vuln"
	b.Assessments = []store.ResourceAssessments{{ResourceID: id, Items: rep.Assessments}}
	// The same inventory matched by the same DB is the same result.
	b.ContentHash = inv.Hash + "|" + dbVersion
	return &Prepared{Kind: KindImage, Batch: b, Verdict: &rep.Summary, Report: rep}, nil
}

// hostKinds are the resources whose own OS packages an inventory report
// may describe (the Docker agent's host scan; a node agent's).
var hostKinds = map[model.ResourceKind]bool{model.KindDockerHost: true, model.KindNode: true}

// hostVulnsTitle is the title of a host's vulnerability result
// (recommend.RuleHost): the image's VULN-image, for a host.
const hostVulnsTitle = "Hosts should have vulnerability findings resolved"

// prepareHost stores a host's own package inventory (Image.Source "host")
// under the host's resource id and matches it as an image's would be: the
// host gets findings, a verdict and a VULN-host assessment, and is matched
// again when the DB changes, like every stored inventory.
func prepareHost(ctx context.Context, rep *model.Report, o Options) (*Prepared, error) {
	host := rep.Resource
	if err := checkID(string(host.Kind), host.ID); err != nil {
		return nil, err
	}
	if len(rep.Packages) > o.Limits.Packages {
		return nil, invalid("%s %s: %d packages, more than the limit of %d", host.Kind, host.ID, len(rep.Packages), o.Limits.Packages)
	}
	for i, p := range rep.Packages {
		if p.Name == "" || len(p.Name) > 1024 || len(p.Version) > 1024 {
			return nil, invalid("%s %s: package %d: empty or oversized name or version", host.Kind, host.ID, i)
		}
	}
	var target *auth.Target
	switch host.Kind {
	case model.KindDockerHost:
		target = &auth.Target{Kind: string(model.KindDockerHost), ID: host.ID, Name: host.Name}
	case model.KindNode:
		c, _, ok := strings.Cut(host.ID, "/")
		if !ok {
			return nil, invalid("node %q: the id is not <cluster id>/<node name>", host.ID)
		}
		target = &auth.Target{Kind: string(model.KindCluster), ID: c}
	}
	rep.Image.Source = hostSource
	rep.Findings, rep.Assessments, rep.Summary = nil, nil, model.Summary{Packages: len(rep.Packages)}
	inv, err := encodeInventory(rep)
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	// Only the kind and id: the host's facts and name are its CIS report's
	// (an empty field never erases a stored one).
	res := model.Resource{Kind: host.Kind, ID: host.ID, Name: host.Name, Parent: host.Parent}
	b := &store.Batch{Kind: "host-packages", Subject: host.ID, At: o.Now(), Inventory: inv, Resources: []model.Resource{res}}
	dbVersion, err := matchWith(ctx, o, rep)
	switch {
	case errors.Is(err, ErrNoDB):
		rep.Findings = []model.Finding{}
		rep.Summary.Verdict = model.VerdictNotAssessed
		rep.Assessments = []model.Assessment{{Rule: recommend.RuleHost, Title: hostVulnsTitle, Status: model.AssessNotAssessed,
			Severity: model.SeverityHigh, Evidence: []string{"the server has no vulnerability DB yet"}, ObservedAt: o.Now().UTC()}}
	case err != nil:
		return nil, fmt.Errorf("match the packages of %s %s: %w", host.Kind, host.ID, err)
	default:
		b.Matched = true
	}
	hostAssessments(rep)
	b.Findings = rep.Findings
	b.Health = &store.Health{Verdict: rep.Summary.Verdict, Counts: rep.Summary.Counts, DBVersion: dbVersion}
	b.Source = "vuln"
	b.Assessments = []store.ResourceAssessments{{ResourceID: host.ID, Items: rep.Assessments}}
	b.ContentHash = inv.Hash + "|" + dbVersion
	return &Prepared{Kind: KindImage, Batch: b, Target: target, Verdict: &rep.Summary, Report: rep}, nil
}

// hostSource is the ImageInfo source of a host inventory (scan.FromHost).
const hostSource = "host"

// hostAssessments names a host's vulnerability result as a host's: the
// matcher writes the image rule.
func hostAssessments(rep *model.Report) {
	if rep.Image.Source != hostSource {
		return
	}
	for i, a := range rep.Assessments {
		if a.Rule == "VULN-image" {
			a.Rule, a.Title = recommend.RuleHost, hostVulnsTitle
			if a.Status == model.AssessUnhealthy {
				a.Remediation = "Apply the listed package upgrades on the host (apt, dnf, apk) and let the agent re-inventory it."
			}
			rep.Assessments[i] = a
		}
	}
}

func imageResource(rep *model.Report, id string) model.Resource {
	info := rep.Image
	facts := map[string]string{"source": info.Source}
	if info.Platform != "" {
		facts["platform"] = info.Platform
	}
	if info.ConfigDigest != "" {
		facts["config_digest"] = info.ConfigDigest
	}
	if rep.Distro != nil {
		facts["os"] = strings.TrimSpace(rep.Distro.ID + " " + rep.Distro.VersionID)
		if rep.Distro.EOL {
			facts["os_eol"] = rep.Distro.EOLDate
		}
	}
	if info.Size > 0 {
		facts["size"] = fmt.Sprint(info.Size)
	}
	r := model.Resource{Kind: model.KindImage, ID: id, Name: info.Reference, Facts: facts}
	// An archive's reference is a file path: its tag names it better.
	if len(info.RepoTags) > 0 && (r.Name == "" || info.Source == "tarball" || info.Source == "oci-layout") {
		r.Name = info.RepoTags[0]
	}
	if r.Name == "" {
		r.Name = id
	}
	return r
}

// imageInventory derives the registry and repository resources and the
// references an image was seen under.
func imageInventory(rep *model.Report, id string) ([]model.Resource, []store.ImageRef) {
	refs := append([]string{rep.Image.Reference}, rep.Image.RepoTags...)
	refs = append(refs, rep.Image.RepoDigests...)
	var res []model.Resource
	var out []store.ImageRef
	seenRepo := map[string]bool{}
	seenRef := map[string]bool{}
	img := rep.Resource
	for _, r := range refs {
		if r == "" || strings.HasPrefix(rep.Image.Source, "sbom") && !strings.Contains(r, ":") {
			continue
		}
		ref, err := name.ParseReference(r)
		if err != nil {
			continue // a file path (tarball, layout): no repository
		}
		repo := ref.Context()
		tag := ""
		if t, ok := ref.(name.Tag); ok {
			tag = t.TagStr()
		}
		key := repo.Name() + ":" + tag
		if !seenRef[key] {
			seenRef[key] = true
			out = append(out, store.ImageRef{ImageID: id, Repository: repo.Name(), Tag: tag})
		}
		if !seenRepo[repo.Name()] {
			seenRepo[repo.Name()] = true
			res = append(res, model.Resource{Kind: model.KindRegistry, ID: repo.RegistryStr(), Name: repo.RegistryStr()},
				model.Resource{Kind: model.KindRepository, ID: repo.Name(), Name: repo.RepositoryStr(), Parent: repo.RegistryStr()})
			if img.Parent == "" {
				img.Parent = repo.Name()
			}
		}
	}
	return append(res, img), out
}

type storedInventory struct {
	Distro   *model.Distro   `json:"distro,omitempty"`
	Image    model.ImageInfo `json:"image"`
	Packages []model.Package `json:"packages"`
}

// encodeInventory keeps what re-matching needs, gzipped: a few KB per
// image, so 10,000 images stay a few tens of MB.
func encodeInventory(rep *model.Report) (*store.Inventory, error) {
	raw, err := json.Marshal(storedInventory{Distro: rep.Distro, Image: rep.Image, Packages: rep.Packages})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(raw) //nolint:errcheck
	if err := zw.Close(); err != nil {
		return nil, err
	}
	h := sha256.Sum256(raw)
	d := ""
	if rep.Distro != nil {
		d = strings.TrimSpace(rep.Distro.ID + " " + rep.Distro.VersionID)
	}
	return &store.Inventory{ImageID: rep.Resource.ID, Distro: d, Packages: len(rep.Packages), Data: buf.Bytes(), Hash: hex.EncodeToString(h[:])}, nil
}

// EncodeInventory is what ingestion stores of an image report (for tools
// that fill a store directly, as the scale benches do).
func EncodeInventory(rep *model.Report) (*store.Inventory, error) { return encodeInventory(rep) }

// DecodeInventory reads a stored inventory back into a report to match.
func DecodeInventory(inv *store.Inventory) (*model.Report, error) {
	zr, err := gzip.NewReader(bytes.NewReader(inv.Data))
	if err != nil {
		return nil, fmt.Errorf("read inventory of %s: %w", inv.ImageID, err)
	}
	var si storedInventory
	if err := json.NewDecoder(zr).Decode(&si); err != nil {
		return nil, fmt.Errorf("read inventory of %s: %w", inv.ImageID, err)
	}
	return &model.Report{SchemaVersion: model.SchemaVersion, Image: si.Image, Distro: si.Distro, Packages: si.Packages,
		Resource: model.Resource{Kind: model.KindImage, ID: inv.ImageID}}, nil
}

func prepareDockerBench(rep *dockerbench.Report, hash string, o Options) (*Prepared, error) {
	host := rep.Resource
	if host.ID == "" {
		// Reports written before the shared model was added.
		host = dockerbench.HostResource(rep.Host)
	}
	if err := checkID("docker host", host.ID); err != nil {
		return nil, invalid("docker host: the report names no engine ID (bench docker could not reach the engine?)")
	}
	host.Kind = model.KindDockerHost
	if len(rep.Containers)+len(rep.Images) > o.Limits.Resources || len(rep.Assessments) > o.Limits.Assessments {
		return nil, invalid("docker host: more containers, images or results than the limits allow")
	}
	b := &store.Batch{Kind: string(KindDockerBench), Subject: host.ID, ContentHash: hash, At: o.Now(), Source: "cis-docker"}
	b.Resources = append(b.Resources, host)
	for _, c := range rep.Containers {
		if err := checkID("container", c.ID); err != nil {
			return nil, err
		}
		id := host.ID + "/" + c.ID
		facts := map[string]string{"image": c.Image, "image_id": c.ImageID, "running": fmt.Sprint(c.Running)}
		if c.Privileged {
			facts["privileged"] = "true"
		}
		if len(c.CapAdd) > 0 {
			facts["cap_add"] = strings.Join(c.CapAdd, ",")
		}
		b.Resources = append(b.Resources, model.Resource{Kind: model.KindContainer, ID: id, Name: c.Name, Parent: host.ID, Facts: facts})
		if c.ImageID != "" {
			b.Runs = append(b.Runs, store.Run{RunnerID: id, Image: c.ImageID, RootID: host.ID})
		}
	}
	// The images the host holds: "which images does this host hold".
	for _, im := range rep.Images {
		if im.ID != "" {
			b.Runs = append(b.Runs, store.Run{RunnerID: host.ID, Image: im.ID, RootID: host.ID})
		}
	}
	items := rep.Assessments
	b.Assessments = []store.ResourceAssessments{{ResourceID: host.ID, Items: items}}
	return &Prepared{Kind: KindDockerBench, Batch: b, Target: &auth.Target{Kind: string(model.KindDockerHost), ID: host.ID, Name: host.Name}}, nil
}

func preparePolicy(rep *policyreport.Report, hash string, o Options) (*Prepared, error) {
	if len(rep.Results) > o.Limits.Resources {
		return nil, invalid("policy report: %d objects, more than the limit of %d", len(rep.Results), o.Limits.Resources)
	}
	clusterID := rep.ClusterID
	if clusterID == "" {
		clusterID = policyreport.ManifestCluster
		if rep.Cluster != "" {
			clusterID = rep.Cluster
		}
	}
	if err := checkID("cluster", clusterID); err != nil {
		return nil, err
	}
	name := rep.Cluster
	if name == "" {
		name = clusterID
	}
	kind := model.KindCluster
	b := &store.Batch{Kind: string(KindK8sPolicy), Subject: clusterID, ContentHash: hash, At: o.Now(), Source: "k8s-policy"}
	cb := newClusterBatch(b, clusterID, name)
	n := 0
	for _, r := range rep.Results {
		rsc := r.Resource
		if err := cb.add(rsc); err != nil {
			return nil, err
		}
		n += len(r.Assessments)
		if n > o.Limits.Assessments {
			return nil, invalid("policy report: more than %d assessments", o.Limits.Assessments)
		}
		b.Assessments = append(b.Assessments, store.ResourceAssessments{ResourceID: rsc.ID, Items: r.Assessments})
	}
	var target *auth.Target
	if clusterID != policyreport.ManifestCluster {
		target = &auth.Target{Kind: string(kind), ID: clusterID, Name: name}
		if rep.Complete && len(rep.LoadErrors) == 0 {
			b.PruneUnder = clusterID
		}
	}
	return &Prepared{Kind: KindK8sPolicy, Batch: b, Target: target}, nil
}

// prepareK8sBench stores the cluster (and, for node checks, the node) with
// its CIS Kubernetes and cluster-recommendation assessments.
func prepareK8sBench(rep *k8sbench.Report, hash string, o Options) (*Prepared, error) {
	cl := rep.Resource
	if err := checkID("cluster", cl.ID); err != nil {
		return nil, invalid("cluster: the report names no cluster identity (bench k8s without API access cannot be stored)")
	}
	if cl.Kind != model.KindCluster {
		return nil, invalid("cluster: resource kind %q, want cluster", cl.Kind)
	}
	if len(rep.Results) > 16 {
		return nil, invalid("k8s bench: %d result groups (a cluster and its node at most)", len(rep.Results))
	}
	b := &store.Batch{Kind: string(KindK8sBench), Subject: cl.ID, ContentHash: hash, At: o.Now(), Source: "cis-k8s",
		Resources: []model.Resource{cl}}
	n := 0
	for _, r := range rep.Results {
		if err := checkID("bench resource", r.Resource.ID); err != nil {
			return nil, err
		}
		if r.Resource.ID != cl.ID && (r.Resource.Parent != cl.ID || r.Resource.Kind != model.KindNode) {
			return nil, invalid("resource %q (%s) is not the cluster %q or one of its nodes", r.Resource.ID, r.Resource.Kind, cl.ID)
		}
		if r.Resource.ID != cl.ID {
			b.Resources = append(b.Resources, r.Resource)
		}
		n += len(r.Assessments)
		if n > o.Limits.Assessments {
			return nil, invalid("k8s bench: more than %d assessments", o.Limits.Assessments)
		}
		b.Assessments = append(b.Assessments, store.ResourceAssessments{ResourceID: r.Resource.ID, Items: r.Assessments})
	}
	// Node checks and API checks of one cluster are separate reports of
	// the same cluster: dedupe on what was assessed.
	b.Subject = cl.ID
	if len(rep.Results) == 1 && rep.Results[0].Resource.ID != cl.ID {
		b.Subject = rep.Results[0].Resource.ID
	}
	return &Prepared{Kind: KindK8sBench, Batch: b, Target: &auth.Target{Kind: string(model.KindCluster), ID: cl.ID, Name: cl.Name}}, nil
}

func prepareAlerts(alerts []model.Alert, o Options) (*Prepared, error) {
	if len(alerts) == 0 {
		return nil, invalid("no alerts")
	}
	if len(alerts) > o.Limits.Alerts {
		return nil, invalid("%d alerts, more than the limit of %d per request", len(alerts), o.Limits.Alerts)
	}
	b := &store.Batch{Kind: string(KindAlerts), At: o.Now()}
	seen := map[string]bool{}
	var target *auth.Target
	for i, a := range alerts {
		if a.ID == "" || a.Type == "" || a.FirstSeen.IsZero() {
			return nil, invalid("alert %d: id, type and first_seen are required", i)
		}
		if err := checkID("alert resource", a.Resource.ID); err != nil {
			return nil, err
		}
		if a.Count < 1 {
			a.Count = 1
		}
		if a.Severity == "" {
			a.Severity = model.SeverityUnknown
		}
		b.Alerts = append(b.Alerts, a)
		if !seen[a.Resource.ID] {
			seen[a.Resource.ID] = true
			r := a.Resource
			if r.Kind == "" {
				r.Kind = "unknown"
			}
			b.Resources = append(b.Resources, r)
		}
		// A bound token's alerts must all be about its cluster or host: the
		// cluster is the first segment of a Kubernetes object id; a container
		// or host alert names the host.
		t := alertTarget(a.Resource)
		if target == nil {
			target = t
		} else if t != nil && (t.ID != target.ID) {
			return nil, invalid("alerts about more than one cluster or host in one request")
		}
	}
	return &Prepared{Kind: KindAlerts, Batch: b, Target: target}, nil
}

func alertTarget(r model.Resource) *auth.Target {
	switch r.Kind {
	case model.KindCluster, model.KindDockerHost:
		return &auth.Target{Kind: string(r.Kind), ID: r.ID, Name: r.Name}
	case model.KindWorkload, model.KindNamespace, model.KindPod, model.KindNode:
		c, _, _ := strings.Cut(r.ID, "/")
		return &auth.Target{Kind: string(model.KindCluster), ID: c}
	case model.KindContainer:
		h, _, ok := strings.Cut(r.ID, "/")
		if ok {
			return &auth.Target{Kind: string(model.KindDockerHost), ID: h}
		}
	}
	return nil
}

// Rematch matches a stored inventory again with the server's current DB
// (and exemptions): a store batch that replaces the image's findings and
// verdict, records new and resolved findings against the DB version, and
// marks the inventory matched with it. No image is pulled.
func Rematch(ctx context.Context, inv *store.Inventory, m Matcher, now time.Time) (*store.Batch, error) {
	rep, err := DecodeInventory(inv)
	if err != nil {
		return nil, err
	}
	rep.Summary = model.Summary{Packages: len(rep.Packages)}
	dbVersion, err := m.Match(ctx, rep)
	if err != nil {
		return nil, fmt.Errorf("match image %s: %w", inv.ImageID, err)
	}
	hostAssessments(rep)
	return &store.Batch{Kind: string(KindImage), Subject: inv.ImageID, At: now, Matched: true, Rematched: true,
		Findings: rep.Findings, Health: &store.Health{Verdict: rep.Summary.Verdict, Counts: rep.Summary.Counts, DBVersion: dbVersion},
		Source: "vuln", Assessments: []store.ResourceAssessments{{ResourceID: inv.ImageID, Items: rep.Assessments}}}, nil
}

// matchWith matches rep's packages with the server's DB: ErrNoDB while the
// server has none (the inventory is stored all the same, not assessed).
func matchWith(ctx context.Context, o Options, rep *model.Report) (string, error) {
	if o.Matcher == nil {
		return "", ErrNoDB
	}
	return o.Matcher.Match(ctx, rep)
}
