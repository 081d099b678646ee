package osv

// entry is the part of the OSV schema Bulwark reads. Tags serve both
// encoding/json and YAML (the PyPA database writes the same schema in YAML).
type entry struct {
	SchemaVersion    string         `json:"schema_version" yaml:"schema_version"`
	ID               string         `json:"id" yaml:"id"`
	Modified         string         `json:"modified" yaml:"modified"`
	Published        string         `json:"published" yaml:"published"`
	Withdrawn        string         `json:"withdrawn" yaml:"withdrawn"`
	Aliases          []string       `json:"aliases" yaml:"aliases"`
	Summary          string         `json:"summary" yaml:"summary"`
	Details          string         `json:"details" yaml:"details"`
	Severity         []severity     `json:"severity" yaml:"severity"`
	Affected         []affected     `json:"affected" yaml:"affected"`
	References       []reference    `json:"references" yaml:"references"`
	DatabaseSpecific map[string]any `json:"database_specific" yaml:"database_specific"`
}

type severity struct {
	Type  string `json:"type" yaml:"type"`
	Score string `json:"score" yaml:"score"`
}

type pkg struct {
	Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
	Name      string `json:"name" yaml:"name"`
	PURL      string `json:"purl" yaml:"purl"`
}

type affected struct {
	Package           *pkg           `json:"package" yaml:"package"`
	Severity          []severity     `json:"severity" yaml:"severity"`
	Ranges            []rangeT       `json:"ranges" yaml:"ranges"`
	Versions          []string       `json:"versions" yaml:"versions"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific" yaml:"ecosystem_specific"`
	DatabaseSpecific  map[string]any `json:"database_specific" yaml:"database_specific"`
}

type rangeT struct {
	Type   string  `json:"type" yaml:"type"`
	Repo   string  `json:"repo" yaml:"repo"`
	Events []event `json:"events" yaml:"events"`
}

type event struct {
	Introduced   string `json:"introduced" yaml:"introduced"`
	Fixed        string `json:"fixed" yaml:"fixed"`
	LastAffected string `json:"last_affected" yaml:"last_affected"`
	Limit        string `json:"limit" yaml:"limit"`
}

type reference struct {
	Type string `json:"type" yaml:"type"`
	URL  string `json:"url" yaml:"url"`
}
