package dockerbench

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Status of one control on one host.
type Status string

const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Warn          Status = "warn" // could not be decided, or needs attention without failing
	Info          Status = "info" // manual controls: evidence for a human to judge
	NotApplicable Status = "not-applicable"
	Error         Status = "error" // the data the control needs could not be collected
)

// Result is what a control's check returns: a status and precise evidence
// ("container web-1: HostConfig.Privileged=true").
type Result struct {
	Status   Status
	Evidence []string
}

// Control is one CIS Docker Benchmark control.
type Control struct {
	ID        string // "5.4"
	Title     string // CIS short title, in our words where it differs
	Section   string // "Container Runtime"
	Level     int    // 1 or 2
	Automated bool   // false: Manual in CIS; the check gathers evidence only
	// Needs lists the Snapshot sources the check reads; when one of them
	// failed, the runner reports Error with the reason and skips Check.
	Needs       []string
	Remediation string
	Check       func(s *Snapshot) Result
}

var idRE = regexp.MustCompile(`^[1-7](\.[0-9]+){1,2}$`)

// registry is filled by each check_<id>.go file's init, then validated.
var registry []Control

func register(c Control) { registry = append(registry, c) }

// Controls returns every registered control, sorted by id, validated: a
// registry error is a programming error and panics at start-up (and in the
// registry test), never at evaluation time.
func Controls() []Control {
	out := append([]Control(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return lessID(out[i].ID, out[j].ID) })
	if err := validate(out); err != nil {
		panic(err)
	}
	return out
}

func validate(cs []Control) error {
	seen := map[string]bool{}
	for _, c := range cs {
		switch {
		case !idRE.MatchString(c.ID):
			return fmt.Errorf("control %q: bad id", c.ID)
		case seen[c.ID]:
			return fmt.Errorf("control %s: registered twice", c.ID)
		case c.Title == "" || c.Section == "" || c.Remediation == "":
			return fmt.Errorf("control %s: title, section and remediation are required", c.ID)
		case c.Level != 1 && c.Level != 2:
			return fmt.Errorf("control %s: level %d", c.ID, c.Level)
		case c.Check == nil:
			return fmt.Errorf("control %s: no check", c.ID)
		}
		seen[c.ID] = true
	}
	return nil
}

// lessID orders "1.1.10" after "1.1.9".
func lessID(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
