package model

import "time"

// AlertStatus is where an alert is in its life.
type AlertStatus string

const (
	AlertActive    AlertStatus = "active"
	AlertDismissed AlertStatus = "dismissed"
	AlertResolved  AlertStatus = "resolved"
)

// Alert is something that happened: a run-time detection. Repeats of one
// Type on one Resource within the aggregation window update LastSeen and
// Count instead of making a new alert.
type Alert struct {
	// ID is stable for one aggregated alert: derived from Type, Resource.ID
	// and FirstSeen, never random.
	ID          string            `json:"id"`
	Type        string            `json:"type"` // K8S_PrivilegedContainer, K8S.NODE_ReverseShell, …
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Severity    Severity          `json:"severity"`
	Tactics     []string          `json:"tactics,omitempty"`    // MITRE ATT&CK tactic names
	Techniques  []string          `json:"techniques,omitempty"` // MITRE ATT&CK technique ids (T1611, T1059.004)
	Resource    Resource          `json:"resource"`
	Actor       *Actor            `json:"actor,omitempty"`
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	Count       int               `json:"count"`
	Evidence    []Evidence        `json:"evidence,omitempty"`
	Properties  map[string]string `json:"properties,omitempty"` // the rule's output fields
	Remediation string            `json:"remediation,omitempty"`
	Status      AlertStatus       `json:"status"`
}

// Actor is who or what did it.
type Actor struct {
	User           string   `json:"user,omitempty"`
	Groups         []string `json:"groups,omitempty"`
	ServiceAccount string   `json:"service_account,omitempty"`
	UserAgent      string   `json:"user_agent,omitempty"`
	SourceIPs      []string `json:"source_ips,omitempty"`
	Process        string   `json:"process,omitempty"` // executable path
	Command        string   `json:"command,omitempty"`
	PID            int      `json:"pid,omitempty"`
	UID            *int     `json:"uid,omitempty"`
}

// Evidence is one event that fired an alert, trimmed.
type Evidence struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`  // k8s-audit, docker, ebpf, proc, auditd, falco
	Summary string    `json:"summary"` // one line a human reads
	// Raw is the original record (audit event, Falco line, …), possibly
	// truncated; kept so an analyst sees exactly what was observed.
	Raw string `json:"raw,omitempty"`
}
