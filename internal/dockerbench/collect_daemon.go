package dockerbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
)

// collectDefaultDaemonJSON is where dockerd reads its configuration unless
// --config-file says otherwise.
const collectDefaultDaemonJSON = "/etc/docker/daemon.json"

// collectDaemonConfig fills s.Daemon from daemon.json and the running
// dockerd's command line. Flags win over the file (dockerd refuses to start
// when both set the same option anyway).
func collectDaemonConfig(h *collectHostFS, s *Snapshot, setErr func(src, msg string), log *slog.Logger) {
	d := &s.Daemon
	args, procNote := collectDockerdArgs(h, log)
	flags := map[string][]string{}
	if args != nil {
		d.Args = args
		flags = collectParseDockerdArgs(args)
	}

	file := collectDefaultDaemonJSON
	if v := flags["config-file"]; len(v) > 0 && path.IsAbs(v[len(v)-1]) {
		file = path.Clean(v[len(v)-1])
	}
	var fileNote string
	b, err := h.readFile(file)
	switch {
	case err == nil:
		d.File = file
		d.JSON, err = collectDecodeDaemonJSON(b)
		if err != nil {
			d.JSONError = fmt.Sprintf("%s: %v", file, err)
			d.JSON = nil
		}
	case collectNotExist(err):
		fileNote = fmt.Sprintf("no %s", h.describe(file))
	default:
		fileNote = fmt.Sprintf("cannot read %s: %v", h.describe(file), err)
		// The file is there but unreadable: options from it would be
		// missing silently, so say the configuration is unknown.
		setErr(SourceDaemon, fileNote)
	}

	d.Found = d.File != "" || args != nil
	if !d.Found {
		setErr(SourceDaemon, fileNote+" and "+procNote)
	}

	d.Options = map[string][]string{}
	for k, v := range d.JSON {
		if vals, ok := collectJSONValues(v); ok {
			d.Options[k] = vals
		}
	}
	for k, v := range flags {
		d.Options[k] = v
	}
}

// collectDockerdArgs finds the running dockerd under <root>/proc and
// returns its argv[1:] (nil when none), or why none was found.
func collectDockerdArgs(h *collectHostFS, log *slog.Logger) ([]string, string) {
	ents, err := h.readDir("/proc")
	if err != nil {
		return nil, fmt.Sprintf("cannot list processes in %s: %v", h.describe("/proc"), err)
	}
	type proc struct {
		pid  int
		args []string
	}
	var found []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := h.readFile(path.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		switch base := path.Base(argv[0]); {
		case base == "dockerd":
			found = append(found, proc{pid, argv[1:]})
		case base == "docker" && len(argv) > 1 && argv[1] == "daemon": // Docker < 1.12
			found = append(found, proc{pid, argv[2:]})
		}
	}
	if len(found) == 0 {
		return nil, "no dockerd process found in " + h.describe("/proc")
	}
	// The host's daemon starts before any nested one (docker-in-docker).
	sort.Slice(found, func(i, j int) bool { return found[i].pid < found[j].pid })
	if len(found) > 1 {
		log.Warn("several dockerd processes; using the oldest", "pid", found[0].pid, "count", len(found))
	}
	if found[0].args == nil {
		return []string{}, ""
	}
	return found[0].args, ""
}

// collectDockerdFlagKeys maps dockerd flags (without dashes) to the
// daemon.json key for the same option where the names differ.
var collectDockerdFlagKeys = map[string]string{
	"H": "hosts", "host": "hosts",
	"D": "debug", "l": "log-level", "s": "storage-driver", "g": "data-root", "graph": "data-root",
	"b": "bridge", "G": "group", "p": "pidfile", "e": "exec-driver",
	"insecure-registry": "insecure-registries", "registry-mirror": "registry-mirrors",
	"authorization-plugin": "authorization-plugins", "default-ulimit": "default-ulimits",
	"storage-opt": "storage-opts", "log-opt": "log-opts", "exec-opt": "exec-opts", "label": "labels",
	"dns-opt": "dns-opts", "add-runtime": "runtimes", "default-address-pool": "default-address-pools",
	"feature": "features", "cluster-store-opt": "cluster-store-opts", "node-generic-resource": "node-generic-resources",
	"cdi-spec-dir": "cdi-spec-dirs", "default-network-opt": "default-network-opts", "host-gateway-ip": "host-gateway-ips",
}

// collectDockerdBoolFlags take no separate value ("--icc" = true,
// "--icc=false").
var collectDockerdBoolFlags = map[string]bool{
	"D": true, "debug": true, "tls": true, "tlsverify": true, "icc": true, "iptables": true, "ip6tables": true,
	"ip-forward": true, "ip-forward-no-drop": true, "ip-masq": true, "ipv6": true, "live-restore": true,
	"userland-proxy": true, "no-new-privileges": true, "experimental": true, "selinux-enabled": true,
	"raw-logs": true, "init": true, "validate": true, "version": true, "v": true, "help": true, "rootless": true,
	"disable-legacy-registry": true, "allow-direct-routing": true,
}

// collectParseDockerdArgs normalises a dockerd command line into options
// keyed as daemon.json spells them, each with its values in order:
// "--icc=false" → icc:[false], "-H fd://" → hosts:[fd://], "--tlsverify"
// → tlsverify:[true].
func collectParseDockerdArgs(args []string) map[string][]string {
	out := map[string][]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue // positional: dockerd takes none
		}
		var name, val string
		hasVal := false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a[2:], "=")
		} else {
			// Shorthand: "-H", "-Hunix://…", "-H=unix://…", "-D".
			name = a[1:2]
			if rest := a[2:]; rest != "" {
				val, hasVal = strings.TrimPrefix(rest, "="), true
			}
		}
		if name == "" || strings.HasPrefix(name, "-") {
			continue // "---x" is no flag dockerd accepts
		}
		if !hasVal {
			switch {
			case collectDockerdBoolFlags[name]:
				val = "true"
			case i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
				i++
				val = args[i]
			default:
				val = "true" // an unknown flag used as a switch
			}
		}
		key := name
		if k, ok := collectDockerdFlagKeys[name]; ok {
			key = k
		}
		out[key] = append(out[key], val)
	}
	return out
}

// collectDecodeDaemonJSON decodes daemon.json keeping numbers as written.
func collectDecodeDaemonJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the top-level object")
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// collectJSONValues stringifies one daemon.json value the way the flag
// would spell it: bools "true"/"false", numbers as written, lists one value
// per element, objects one "key=value" per key (sorted; a ulimit object
// {"Name","Soft","Hard"} as "soft:hard", other nested values as compact
// JSON). null gives no option at all.
func collectJSONValues(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, collectJSONScalar(e))
		}
		return out, true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]string, 0, len(t))
		for _, k := range keys {
			out = append(out, k+"="+collectJSONScalar(t[k]))
		}
		return out, true
	default:
		return []string{collectJSONScalar(v)}, true
	}
}

func collectJSONScalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	case nil:
		return ""
	case map[string]any:
		soft, okS := t["Soft"].(json.Number)
		hard, okH := t["Hard"].(json.Number)
		if okS && okH && len(t) <= 3 {
			return soft.String() + ":" + hard.String()
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
