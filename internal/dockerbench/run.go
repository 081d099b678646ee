package dockerbench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Filter picks controls: Checks and Exclude take ids or id prefixes
// ("2", "5.4", "1.1"); Level 1 keeps level-1 controls only, 0 or 2 all.
type Filter struct {
	Checks  []string
	Exclude []string
	Level   int
}

func matchesAny(id string, prefixes []string) bool {
	for _, p := range prefixes {
		p = strings.TrimSpace(p)
		if p != "" && (id == p || strings.HasPrefix(id, p+".")) {
			return true
		}
	}
	return false
}

// Validate fails on an id or section in Checks or Exclude that names no
// control ("99.99", "1.1.99"): a typo must not give an empty report
// scored 0/0.
func (f Filter) Validate() error {
	cs := Controls()
	for _, list := range []struct {
		flag string
		ids  []string
	}{{"--checks", f.Checks}, {"--exclude", f.Exclude}} {
		var unknown []string
		for _, p := range list.ids {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			found := false
			for _, c := range cs {
				if matchesAny(c.ID, []string{p}) {
					found = true
					break
				}
			}
			if !found {
				unknown = append(unknown, p)
			}
		}
		if len(unknown) > 0 {
			return fmt.Errorf("%s %s: no such CIS Docker Benchmark v1.6.0 control or section (they run from 1.1.1 to 7.9; sections 1 to 7)",
				list.flag, strings.Join(unknown, ","))
		}
	}
	if f.Level < 0 || f.Level > 2 {
		return fmt.Errorf("--level %d: want 1 or 2", f.Level)
	}
	return nil
}

func (f Filter) keep(c Control) bool {
	if len(f.Checks) > 0 && !matchesAny(c.ID, f.Checks) {
		return false
	}
	if matchesAny(c.ID, f.Exclude) {
		return false
	}
	return f.Level != 1 || c.Level == 1
}

// Outcome is one control's result on one host.
type Outcome struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Section     string   `json:"section"`
	Level       int      `json:"level"`
	Automated   bool     `json:"automated"`
	Status      Status   `json:"status"`
	Evidence    []string `json:"evidence,omitempty"`
	Remediation string   `json:"remediation"`
}

// HostSummary is what the machine page shows about a Docker host.
type HostSummary struct {
	Name              string `json:"name,omitempty"`
	ID                string `json:"id,omitempty"`
	DockerVersion     string `json:"docker_version,omitempty"`
	APIVersion        string `json:"api_version,omitempty"`
	OS                string `json:"os,omitempty"`
	Kernel            string `json:"kernel,omitempty"`
	StorageDriver     string `json:"storage_driver,omitempty"`
	Images            int    `json:"images"`
	Containers        int    `json:"containers"`
	ContainersRunning int    `json:"containers_running"`
	Swarm             string `json:"swarm,omitempty"`
}

// Score counts automated verdicts.
type Score struct {
	Passed    int     `json:"passed"`
	Automated int     `json:"automated"` // automated controls that got a verdict or failed to evaluate
	Percent   float64 `json:"percent"`
	Failed    int     `json:"failed"`
	Warned    int     `json:"warned"`
	Errors    int     `json:"errors"`
	Manual    int     `json:"manual"`
}

// Report is a full assessment of one host.
type Report struct {
	SchemaVersion string      `json:"schema_version"`
	Benchmark     string      `json:"benchmark"`
	GeneratedAt   time.Time   `json:"generated_at"`
	Host          HostSummary `json:"host"`
	Score         Score       `json:"score"`
	Results       []Outcome   `json:"results"`
	// Collection lists sources that could not be read.
	Collection map[string]string `json:"collection_errors,omitempty"`
	// Resource is the host in the shared result model (kind docker-host,
	// id the engine's ID), Assessments every control as a rule
	// "CIS-DOCKER-<id>" of it; Containers and Images are what the host
	// runs and holds, for the server's inventory.
	Resource    model.Resource     `json:"resource"`
	Assessments []model.Assessment `json:"assessments"`
	Containers  []ContainerRef     `json:"containers"`
	Images      []ImageRef         `json:"images"`
}

// ContainerRef is a container of the host, as the inventory keeps it.
type ContainerRef struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"`    // as the container was created with
	ImageID string `json:"image_id"` // the image's config digest
	Running bool   `json:"running"`
	// Privileged and CapAdd are the facts the inventory shows beside the
	// CIS results.
	Privileged bool     `json:"privileged,omitempty"`
	CapAdd     []string `json:"cap_add,omitempty"`
}

// ImageRef is an image the host holds.
type ImageRef struct {
	ID          string   `json:"id"` // config digest
	RepoTags    []string `json:"repo_tags,omitempty"`
	RepoDigests []string `json:"repo_digests,omitempty"`
}

// HostResource is the host in the shared model: its id is the engine's ID
// (stable across restarts and renames), its name the host name.
func HostResource(h HostSummary) model.Resource {
	facts := map[string]string{"docker_version": h.DockerVersion, "api_version": h.APIVersion, "os": h.OS, "kernel": h.Kernel,
		"storage_driver": h.StorageDriver, "images": strconv.Itoa(h.Images), "containers": strconv.Itoa(h.Containers),
		"containers_running": strconv.Itoa(h.ContainersRunning)}
	for k, v := range facts {
		if v == "" {
			delete(facts, k)
		}
	}
	return model.Resource{Kind: model.KindDockerHost, ID: h.ID, Name: h.Name, Facts: facts}
}

func inventory(s *Snapshot) ([]ContainerRef, []ImageRef) {
	cs := make([]ContainerRef, 0, len(s.Containers))
	for _, c := range s.Containers {
		r := ContainerRef{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), ImageID: c.Image}
		if c.Config != nil {
			r.Image = c.Config.Image
		}
		if c.State != nil {
			r.Running = c.State.Running
		}
		if c.HostConfig != nil {
			r.Privileged = c.HostConfig.Privileged
			r.CapAdd = c.HostConfig.CapAdd
		}
		cs = append(cs, r)
	}
	is := make([]ImageRef, 0, len(s.Images))
	for _, im := range s.Images {
		is = append(is, ImageRef{ID: im.Inspect.ID, RepoTags: im.Inspect.RepoTags, RepoDigests: im.Inspect.RepoDigests})
	}
	return cs, is
}

// Run evaluates the selected controls over one snapshot.
func Run(s *Snapshot, f Filter, now time.Time) *Report {
	r := &Report{SchemaVersion: model.SchemaVersion, Benchmark: "CIS Docker Benchmark v1.6.0", GeneratedAt: now.UTC().Truncate(time.Second),
		Host: summarize(s), Collection: s.Errors}
	for _, c := range Controls() {
		if !f.keep(c) {
			continue
		}
		o := Outcome{ID: c.ID, Title: c.Title, Section: c.Section, Level: c.Level, Automated: c.Automated, Remediation: c.Remediation}
		res := evaluate(c, s)
		o.Status, o.Evidence = res.Status, res.Evidence
		r.Results = append(r.Results, o)
		switch {
		case !c.Automated:
			r.Score.Manual++
			continue
		case o.Status == NotApplicable || o.Status == Info:
			// No verdict to score (docker-bench scores INFO as 0 too).
			continue
		}
		r.Score.Automated++
		switch o.Status {
		case Pass:
			r.Score.Passed++
		case Fail:
			r.Score.Failed++
		case Warn:
			r.Score.Warned++
		case Error:
			r.Score.Errors++
		}
	}
	if r.Score.Automated > 0 {
		r.Score.Percent = float64(int(1000*float64(r.Score.Passed)/float64(r.Score.Automated))) / 10
	}
	r.Resource = HostResource(r.Host)
	r.Assessments = r.toAssessments()
	r.Containers, r.Images = inventory(s)
	return r
}

// evaluate runs one check, turning missing data into Error and a panic (a
// bug in a check) into Error too, so one bad check never stops the run.
func evaluate(c Control, s *Snapshot) (res Result) {
	for _, src := range c.Needs {
		if msg, bad := s.Errors[src]; bad {
			return Result{Status: Error, Evidence: []string{fmt.Sprintf("could not evaluate: %s: %s", src, msg)}}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			res = Result{Status: Error, Evidence: []string{fmt.Sprintf("check %s failed: %v", c.ID, p)}}
		}
	}()
	res = c.Check(s)
	if res.Status == "" {
		res.Status = Error
		res.Evidence = append(res.Evidence, "check returned no status")
	}
	return res
}

func summarize(s *Snapshot) HostSummary {
	var h HostSummary
	if s.Info != nil {
		h.Name, h.ID = s.Info.Name, s.Info.ID
		h.OS, h.Kernel, h.StorageDriver = s.Info.OperatingSystem, s.Info.KernelVersion, s.Info.Driver
		h.Images, h.Containers, h.ContainersRunning = s.Info.Images, s.Info.Containers, s.Info.ContainersRunning
		h.DockerVersion = s.Info.ServerVersion
		h.Swarm = string(s.Info.Swarm.LocalNodeState)
	}
	if s.Version != nil {
		h.DockerVersion, h.APIVersion = s.Version.Version, s.Version.APIVersion
		if h.Kernel == "" {
			h.Kernel = s.Version.KernelVersion
		}
	}
	return h
}

// toAssessments expresses the report in the shared result model (rule ids
// "CIS-DOCKER-<id>"), so the server stores host hardening beside image
// health. Warn (could not be decided, or needs a person to confirm) is
// manual: a person must look; Info (manual controls) too.
func (r *Report) toAssessments() []model.Assessment {
	out := make([]model.Assessment, 0, len(r.Results))
	for _, o := range r.Results {
		a := model.Assessment{Rule: "CIS-DOCKER-" + o.ID, Title: o.Title, Evidence: o.Evidence, Remediation: o.Remediation, ObservedAt: r.GeneratedAt}
		switch o.Status {
		case Pass:
			a.Status = model.AssessHealthy
		case Fail:
			a.Status = model.AssessUnhealthy
		case NotApplicable:
			a.Status = model.AssessNotApplicable
		case Info, Warn:
			a.Status = model.AssessManual
		default:
			a.Status = model.AssessError
		}
		// Defender rates "container hosts should be configured securely" high;
		// level-2 controls are defence in depth.
		a.Severity = model.SeverityHigh
		if o.Level == 2 {
			a.Severity = model.SeverityMedium
		}
		if !o.Automated {
			a.Severity = model.SeverityInfo
		}
		out = append(out, a)
	}
	return out
}
