package agent

import (
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
)

// RouteClientLogs sends client-go's logs (klog) to log, and turns the one
// that matters to a cluster agent into a clear line: client-go's
// reflectors relist a watch that expired (410 Gone: the resourceVersion
// it resumed from was compacted away) by themselves, saying so only at
// verbosity 4 ("Watch closed") and without calling the informer's watch
// error handler, so this is the only place the agent can tell an expired
// watch from a broken one. Other verbose client-go messages are dropped;
// the rest keep their fields. klog is process-wide: call it once, from
// the command's wiring.
func RouteClientLogs(log *slog.Logger) {
	klog.SetLoggerWithOptions(logr.New(&klogSink{log: log}), klog.ContextualLogger(true))
}

// klogSink is a logr sink over slog.
type klogSink struct {
	log  *slog.Logger
	name string
	kv   []any
}

func (s *klogSink) Init(logr.RuntimeInfo) {}

// Enabled lets verbosity 4 through for "Watch closed"; Info filters.
func (s *klogSink) Enabled(level int) bool { return level <= 4 }

func (s *klogSink) Info(level int, msg string, kv ...any) {
	all := append(s.kv[:len(s.kv):len(s.kv)], kv...)
	if msg == "Watch closed" {
		if err, ok := field(all, "err").(error); ok && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) {
			s.log.Warn("cluster agent: watch expired (410 Gone: the resourceVersion it resumed from was compacted); client-go relists, then a full resync to the server",
				"type", fmt.Sprint(field(all, "type")), "err", err)
		}
		return
	}
	if level > 0 {
		return
	}
	s.log.Info("client-go: "+msg, s.attrs(all)...)
}

func (s *klogSink) Error(err error, msg string, kv ...any) {
	all := append(s.kv[:len(s.kv):len(s.kv)], kv...)
	s.log.Warn("client-go: "+msg, append(s.attrs(all), "err", err)...)
}

func (s *klogSink) WithValues(kv ...any) logr.LogSink {
	return &klogSink{log: s.log, name: s.name, kv: append(s.kv[:len(s.kv):len(s.kv)], kv...)}
}

func (s *klogSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &klogSink{log: s.log, name: name, kv: s.kv}
}

func (s *klogSink) attrs(kv []any) []any {
	if s.name != "" {
		return append([]any{"logger", s.name}, kv...)
	}
	return kv
}

// field is the value after key in a key/value list.
func field(kv []any, key string) any {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == key {
			return kv[i+1]
		}
	}
	return nil
}
