package notify

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// SinkType names a kind of output.
type SinkType string

const (
	SinkWebhook SinkType = "webhook" // the event's JSON document, POSTed
	SinkSlack   SinkType = "slack"   // a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)
	SinkSyslog  SinkType = "syslog"  // RFC 5424 over udp, tcp or a unix socket
)

// Config is the notification configuration: the sinks, each with its
// filters. The file format (YAML) is in docs/server.md and ParseConfig.
type Config struct {
	Sinks []SinkConfig
	// BaseDir resolves relative url_file, header_files, ca_file and
	// queue_dir paths; LoadConfig sets it to the file's directory.
	BaseDir string
}

// SinkConfig is one sink. URL, URLFile's content and header values are
// secrets: String and LogValue leave them out, and no error quotes them.
type SinkConfig struct {
	Name    string
	Type    SinkType
	URL     string            // webhook, slack
	URLFile string            // webhook, slack: a file holding the URL (one line)
	Address string            // syslog: udp://host:port, tcp://host:port, unix:///dev/log
	Headers map[string]string // webhook, slack: added to every request
	// HeaderFiles: header name → file holding its value, for tokens.
	HeaderFiles   map[string]string
	CAFile        string // webhook, slack: PEM CAs trusted besides the system's
	Kinds         []Kind // empty: every kind
	MinSeverity   model.Severity
	ResourceKinds []model.ResourceKind // empty: every resource kind
	QueueDir      string               // webhook, slack; default <state dir>/notify/<name>
	MaxQueueBytes int64                // webhook, slack; default 64 MiB
}

// String describes the sink without its secrets.
func (s SinkConfig) String() string {
	return fmt.Sprintf("sink %q (%s)", s.Name, s.Type)
}

// LogValue keeps secrets out of any log line a SinkConfig is put in.
func (s SinkConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", s.Name), slog.String("type", string(s.Type)))
}

// accepts applies the sink's filters.
func (s SinkConfig) accepts(e Event) bool {
	if len(s.Kinds) > 0 && !slices.Contains(s.Kinds, e.Kind) {
		return false
	}
	if s.MinSeverity != "" && !e.Severity.AtLeast(s.MinSeverity) {
		return false
	}
	if len(s.ResourceKinds) > 0 && !slices.Contains(s.ResourceKinds, e.Resource.Kind) {
		return false
	}
	return true
}

// resourceKinds are the kinds docs/schema.md defines.
var resourceKinds = []model.ResourceKind{
	model.KindImage, model.KindRepository, model.KindRegistry, model.KindDockerHost, model.KindContainer,
	model.KindSBOM, model.KindCluster, model.KindNamespace, model.KindWorkload, model.KindPod, model.KindNode, model.KindHost,
}

// maxConfigBytes bounds the configuration file and each secret file.
const (
	maxConfigBytes = 1 << 20
	maxSecretBytes = 64 << 10
)

// LoadConfig reads and parses a configuration file; relative paths in it
// are taken from the file's directory.
func LoadConfig(path string) (Config, error) {
	b, err := readBounded(path, maxConfigBytes)
	if err != nil {
		return Config{}, fmt.Errorf("reading notification config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg.BaseDir = filepath.Dir(path)
	return cfg, nil
}

func readBounded(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, n+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > n {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, n)
	}
	return b, nil
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	headerRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$") // RFC 9110 token
)

// sinkFields are the keys a sink may have, and the types they apply to.
var sinkFields = map[string][]SinkType{
	"name": nil, "type": nil, "kinds": nil, "min_severity": nil, "resource_kinds": nil,
	"url": {SinkWebhook, SinkSlack}, "url_file": {SinkWebhook, SinkSlack},
	"headers": {SinkWebhook, SinkSlack}, "header_files": {SinkWebhook, SinkSlack},
	"ca_file": {SinkWebhook, SinkSlack}, "queue_dir": {SinkWebhook, SinkSlack},
	"max_queue_bytes": {SinkWebhook, SinkSlack},
	"address":         {SinkSyslog},
}

// ParseConfig parses the YAML configuration:
//
//	sinks:
//	  - name: soc
//	    type: webhook            # webhook | slack | syslog
//	    url_file: /run/secrets/soc-url   # or url: https://…
//	    headers: {X-Source: bulwark}
//	    header_files: {Authorization: /run/secrets/soc-auth}
//	    kinds: [finding, alert]  # default: all
//	    min_severity: high       # default: all
//	    resource_kinds: [image, container]   # default: all
//	    queue_dir: /var/lib/bulwark/notify/soc
//	    max_queue_bytes: 67108864
//	  - name: syslog
//	    type: syslog
//	    address: udp://127.0.0.1:514
//
// Unknown fields, fields of another sink type, duplicate keys and names,
// and bad values are refused with an error naming the sink and the field;
// no error quotes a value, as values may be secrets. It reads no files.
func ParseConfig(data []byte) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, fmt.Errorf("notification config: %w", syntaxError(err))
	}
	var cfg Config
	if root.Kind == 0 || len(root.Content) == 0 {
		return cfg, nil // empty file: no sinks
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("notification config (line %d): want a mapping with a sinks list", doc.Line)
	}
	var sinks *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k := doc.Content[i]
		if k.Value != "sinks" {
			return cfg, fmt.Errorf("notification config (line %d): unknown field %q (want sinks)", k.Line, clip(k.Value, 64))
		}
		if sinks != nil {
			return cfg, fmt.Errorf("notification config (line %d): sinks given twice", k.Line)
		}
		sinks = doc.Content[i+1]
	}
	if sinks == nil || (sinks.Kind == yaml.ScalarNode && sinks.Tag == "!!null") {
		return cfg, nil
	}
	if sinks.Kind != yaml.SequenceNode {
		return cfg, fmt.Errorf("notification config (line %d): sinks: want a list", sinks.Line)
	}
	seen := map[string]bool{}
	for i, n := range sinks.Content {
		s, err := parseSink(i, n)
		if err != nil {
			return Config{}, err
		}
		if seen[s.Name] {
			return Config{}, fmt.Errorf("notification config: sink %q (line %d): name used twice", s.Name, n.Line)
		}
		seen[s.Name] = true
		cfg.Sinks = append(cfg.Sinks, s)
	}
	return cfg, nil
}

// syntaxError keeps yaml's line number but not its quote of the input,
// which may be a secret.
func syntaxError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		j := i + len("line ")
		for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
			j++
		}
		return fmt.Errorf("YAML syntax error at %s", msg[i:j])
	}
	return errors.New("YAML syntax error")
}

func parseSink(i int, n *yaml.Node) (SinkConfig, error) {
	var s SinkConfig
	where := fmt.Sprintf("sinks[%d]", i)
	if n.Kind != yaml.MappingNode {
		return s, fmt.Errorf("notification config: %s (line %d): want a mapping", where, n.Line)
	}
	// The name first, so every later error names the sink.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "name" && n.Content[j+1].Kind == yaml.ScalarNode {
			if v := n.Content[j+1].Value; nameRE.MatchString(v) {
				where = fmt.Sprintf("sink %q", v)
			}
		}
	}
	fail := func(line int, field, format string, a ...any) error {
		return fmt.Errorf("notification config: %s, field %s (line %d): %s", where, field, line, fmt.Sprintf(format, a...))
	}
	seen := map[string]int{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		key := k.Value
		if _, ok := sinkFields[key]; !ok {
			return s, fmt.Errorf("notification config: %s (line %d): unknown field %q", where, k.Line, clip(key, 64))
		}
		if seen[key] > 0 {
			return s, fail(k.Line, key, "given twice")
		}
		seen[key] = k.Line
		var err error
		switch key {
		case "name":
			s.Name, err = scalar(v)
		case "type":
			var t string
			t, err = scalar(v)
			s.Type = SinkType(t)
		case "url":
			s.URL, err = scalar(v)
		case "url_file":
			s.URLFile, err = scalar(v)
		case "address":
			s.Address, err = scalar(v)
		case "ca_file":
			s.CAFile, err = scalar(v)
		case "queue_dir":
			s.QueueDir, err = scalar(v)
		case "min_severity":
			var sev string
			sev, err = scalar(v)
			s.MinSeverity = model.Severity(sev)
		case "max_queue_bytes":
			var t string
			if t, err = scalar(v); err == nil {
				s.MaxQueueBytes, err = strconv.ParseInt(t, 10, 64)
				if err != nil || s.MaxQueueBytes <= 0 {
					err = errors.New("want a positive whole number of bytes")
				}
			}
		case "headers":
			s.Headers, err = stringMap(v)
		case "header_files":
			s.HeaderFiles, err = stringMap(v)
		case "kinds":
			var l []string
			l, err = stringList(v)
			for _, x := range l {
				s.Kinds = append(s.Kinds, Kind(x))
			}
		case "resource_kinds":
			var l []string
			l, err = stringList(v)
			for _, x := range l {
				s.ResourceKinds = append(s.ResourceKinds, model.ResourceKind(x))
			}
		}
		if err != nil {
			return s, fail(v.Line, key, "%v", err)
		}
	}
	line := func(field string) int {
		if l := seen[field]; l > 0 {
			return l
		}
		return n.Line
	}
	// Values.
	if s.Name == "" {
		return s, fail(n.Line, "name", "required")
	}
	if !nameRE.MatchString(s.Name) {
		return s, fail(line("name"), "name", "want 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	switch s.Type {
	case SinkWebhook, SinkSlack, SinkSyslog:
	case "":
		return s, fail(n.Line, "type", "required (webhook, slack or syslog)")
	default:
		return s, fail(line("type"), "type", "%q: want webhook, slack or syslog", clip(string(s.Type), 32))
	}
	for key, types := range sinkFields {
		if seen[key] > 0 && types != nil && !slices.Contains(types, s.Type) {
			return s, fail(seen[key], key, "does not apply to type %s", s.Type)
		}
	}
	switch s.Type {
	case SinkWebhook, SinkSlack:
		switch {
		case s.URL != "" && s.URLFile != "":
			return s, fail(line("url"), "url", "give url or url_file, not both")
		case s.URL == "" && s.URLFile == "":
			return s, fail(n.Line, "url", "required (or url_file)")
		case s.URL != "" && !httpURL(s.URL):
			// Not quoted: the URL may hold the token.
			return s, fail(line("url"), "url", "want an absolute http or https URL")
		}
		for h, v := range s.Headers {
			if !headerRE.MatchString(h) {
				return s, fail(line("headers"), "headers", "%q is not a header name", clip(h, 64))
			}
			if strings.ContainsAny(v, "\r\n\x00") {
				return s, fail(line("headers"), "headers", "value of %s holds a line break or NUL", h)
			}
		}
		for h, p := range s.HeaderFiles {
			if !headerRE.MatchString(h) {
				return s, fail(line("header_files"), "header_files", "%q is not a header name", clip(h, 64))
			}
			if _, dup := s.Headers[h]; dup {
				return s, fail(line("header_files"), "header_files", "%s is also in headers", h)
			}
			if p == "" {
				return s, fail(line("header_files"), "header_files", "no file for %s", h)
			}
		}
	case SinkSyslog:
		if s.Address == "" {
			return s, fail(n.Line, "address", "required (udp://host:port, tcp://host:port or unix:///path)")
		}
		if _, _, err := syslogAddress(s.Address); err != nil {
			return s, fail(line("address"), "address", "%v", err)
		}
	}
	for _, k := range s.Kinds {
		if !k.valid() {
			return s, fail(line("kinds"), "kinds", "%q: want finding, recommendation or alert", clip(string(k), 32))
		}
	}
	if s.MinSeverity != "" {
		sev, err := model.ParseSeverity(string(s.MinSeverity))
		if err != nil || string(sev) != string(s.MinSeverity) {
			return s, fail(line("min_severity"), "min_severity", "%q: want one of %v", clip(string(s.MinSeverity), 32), model.AllSeverities())
		}
	}
	for _, rk := range s.ResourceKinds {
		if !slices.Contains(resourceKinds, rk) {
			return s, fail(line("resource_kinds"), "resource_kinds", "%q: want one of %v", clip(string(rk), 32), resourceKinds)
		}
	}
	return s, nil
}

func scalar(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errors.New("want a single value")
	}
	return n.Value, nil
}

func stringList(n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("want a list")
	}
	var out []string
	for _, c := range n.Content {
		v, err := scalar(c)
		if err != nil {
			return nil, fmt.Errorf("item at line %d: %w", c.Line, err)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("item at line %d: given twice", c.Line)
		}
		out = append(out, v)
	}
	return out, nil
}

func stringMap(n *yaml.Node) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("want a mapping of names to values")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := scalar(n.Content[i])
		if err != nil {
			return nil, fmt.Errorf("key at line %d: %w", n.Content[i].Line, err)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key at line %d: given twice", n.Content[i].Line)
		}
		v, err := scalar(n.Content[i+1])
		if err != nil {
			return nil, fmt.Errorf("value at line %d: %w", n.Content[i+1].Line, err)
		}
		out[k] = v
	}
	return out, nil
}

// syslogAddress splits udp://host:port, tcp://host:port or unix:///path.
func syslogAddress(a string) (network, addr string, err error) {
	scheme, rest, ok := strings.Cut(a, "://")
	if !ok {
		return "", "", errors.New("want udp://host:port, tcp://host:port or unix:///path")
	}
	switch scheme {
	case "udp", "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" {
			return "", "", fmt.Errorf("%s address: want host:port", scheme)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "", "", fmt.Errorf("%s address: port out of 1..65535", scheme)
		}
		return scheme, rest, nil
	case "unix":
		if !strings.HasPrefix(rest, "/") {
			return "", "", errors.New("unix address: want an absolute socket path")
		}
		return "unix", rest, nil
	}
	return "", "", fmt.Errorf("scheme %q: want udp, tcp or unix", clip(scheme, 16))
}

// resolveURL returns the sink's URL, reading url_file when given. The
// error names the file, never its content.
func (s SinkConfig) resolveURL(base string) (string, error) {
	if s.URLFile == "" {
		return s.URL, nil
	}
	b, err := readBounded(abs(base, s.URLFile), maxSecretBytes)
	if err != nil {
		return "", fmt.Errorf("%s: url_file: %w", s, err)
	}
	u := strings.TrimSpace(string(b))
	if !httpURL(u) || strings.ContainsAny(u, "\r\n") {
		return "", fmt.Errorf("%s: url_file %s: want one absolute http or https URL", s, s.URLFile)
	}
	return u, nil
}

// resolveHeaders returns headers with those of header_files read in.
func (s SinkConfig) resolveHeaders(base string) (map[string]string, error) {
	out := make(map[string]string, len(s.Headers)+len(s.HeaderFiles))
	for k, v := range s.Headers {
		out[k] = v
	}
	for h, p := range s.HeaderFiles {
		b, err := readBounded(abs(base, p), maxSecretBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: header_files %s: %w", s, h, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s: header_files %s: %s holds more than one line", s, h, p)
		}
		out[h] = v
	}
	return out, nil
}

func abs(base, p string) string {
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// queueDir is where the sink's queue lives.
func (s SinkConfig) queueDir(base, stateDir string) (string, error) {
	if s.QueueDir != "" {
		return filepath.Clean(abs(base, s.QueueDir)), nil
	}
	if stateDir == "" {
		return "", fmt.Errorf("%s: queue_dir: required (no state directory to default to)", s)
	}
	return filepath.Join(stateDir, "notify", s.Name), nil
}
