// Package sarif holds the subset of SARIF 2.1.0 that code-scanning tools
// (GitHub code scanning, GitLab, IDEs) read; every Bulwark report that speaks
// SARIF builds these types, so the format is written one way. Hand-written:
// no maintained Go SARIF module is among our dependencies and the subset is
// small; report tests validate the output against the official schema.
package sarif

import (
	"encoding/json"
	"io"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// SchemaURI is the SARIF 2.1.0 schema a log names.
const SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// Level maps Bulwark's severity scale to SARIF's result levels.
func Level(s model.Severity) string {
	switch s {
	case model.SeverityCritical, model.SeverityHigh:
		return "error"
	case model.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// Write writes one log holding runs, indented, without HTML escaping.
func Write(w io.Writer, runs ...Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Log{Schema: SchemaURI, Version: "2.1.0", Runs: runs})
}

type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

type Run struct {
	Tool    Tool     `json:"tool"`
	Results []Result `json:"results"`
	// Invocations carry notifications about the run itself, such as the
	// parts of an image that could not be assessed.
	Invocations []Invocation `json:"invocations,omitempty"`
	// Properties carry the image the run looked at.
	Properties map[string]any `json:"properties,omitempty"`
}

type Invocation struct {
	ExecutionSuccessful        bool           `json:"executionSuccessful"`
	ToolExecutionNotifications []Notification `json:"toolExecutionNotifications,omitempty"`
}

// Notification is a message about the run; Level is "note", "warning" or
// "error".
type Notification struct {
	Level      string      `json:"level,omitempty"`
	Message    Text        `json:"message"`
	Descriptor *Descriptor `json:"descriptor,omitempty"`
}

type Descriptor struct {
	ID string `json:"id"`
}

type Tool struct {
	Driver Driver `json:"driver"`
}

type Driver struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	InformationURI string `json:"informationUri,omitempty"`
	Rules          []Rule `json:"rules"`
}

type Text struct {
	Text string `json:"text"`
}

type Rule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription *Text          `json:"shortDescription,omitempty"`
	FullDescription  *Text          `json:"fullDescription,omitempty"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Help             *Text          `json:"help,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             Text              `json:"message"`
	Locations           []Location        `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Suppressions        []Suppression     `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type Location struct {
	PhysicalLocation *Physical `json:"physicalLocation,omitempty"`
	LogicalLocations []Logical `json:"logicalLocations,omitempty"`
	Message          *Text     `json:"message,omitempty"`
}

type Physical struct {
	ArtifactLocation Artifact `json:"artifactLocation"`
}

type Artifact struct {
	URI string `json:"uri"`
}

type Logical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

type Suppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}
