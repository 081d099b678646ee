package runtime

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// exception is an Exception ready to match.
type exception struct {
	*Exception
	expiredLogged atomic.Bool
}

func (x *exception) coversRule(id string) bool {
	for _, p := range x.Rules {
		if p == "*" || globMatch(p, id) {
			return true
		}
	}
	return false
}

// active reports whether the exception still applies at now, logging once
// when it has expired.
func (x *exception) active(now time.Time, log *slog.Logger) bool {
	if x.Expires.IsZero() || now.Before(x.Expires.Time) {
		return true
	}
	if x.expiredLogged.CompareAndSwap(false, true) {
		log.Warn("runtime exception expired; ignoring it", "file", x.File, "rules", x.Rules,
			"reason", x.Reason, "expired", x.Expires.Format(time.RFC3339))
	}
	return false
}

// matches: every field that is set must match the event.
func (x *exception) matches(ev *event.Event) bool {
	if len(x.Namespaces) > 0 && !anyGlob(x.Namespaces, eventNamespace(ev)) {
		return false
	}
	if len(x.Images) > 0 {
		imgs := eventImages(ev)
		if len(imgs) == 0 {
			return false
		}
		for _, img := range imgs { // every image of a pod must be covered
			if !anyGlob(x.Images, img) {
				return false
			}
		}
	}
	if len(x.Users) > 0 && !anyGlob(x.Users, eventUser(ev)) {
		return false
	}
	if len(x.Processes) > 0 {
		p := ev.Process
		if p == nil || !(anyGlob(x.Processes, p.Exe) || (p.Name != "" && anyGlob(x.Processes, p.Name))) {
			return false
		}
	}
	if len(x.Hosts) > 0 && !anyGlob(x.Hosts, ev.Host) {
		return false
	}
	return true
}

func anyGlob(pats []string, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range pats {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

func eventNamespace(ev *event.Event) string {
	if ev.K8s != nil && ev.K8s.Namespace != "" {
		return ev.K8s.Namespace
	}
	if ev.Container != nil {
		return ev.Container.Namespace
	}
	return ""
}

func eventUser(ev *event.Event) string {
	switch {
	case ev.K8s != nil && ev.K8s.User != "":
		return ev.K8s.User
	case ev.Process != nil && ev.Process.User != "":
		return ev.Process.User
	case ev.Container != nil:
		return ev.Container.User
	}
	return ""
}

// eventImages: the container's image, or every image of the audited pod
// spec (pods, workload templates, cronjob templates).
func eventImages(ev *event.Event) []string {
	if ev.Container != nil && ev.Container.Image != "" {
		return []string{ev.Container.Image}
	}
	if ev.K8s == nil {
		return nil
	}
	obj := ev.K8s.Object()
	var out []string
	for _, spec := range podSpecs(obj) {
		for _, f := range []string{"initContainers", "containers", "ephemeralContainers"} {
			cs, _ := spec[f].([]any)
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					if img, ok := cm["image"].(string); ok {
						out = append(out, img)
					}
				}
			}
		}
	}
	return out
}

// podSpecs returns the pod specs inside a pod, workload or cronjob object.
func podSpecs(obj map[string]any) []map[string]any {
	var out []map[string]any
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	if _, ok := spec["containers"]; ok {
		out = append(out, spec)
	}
	if t, ok := spec["template"].(map[string]any); ok {
		if s, ok := t["spec"].(map[string]any); ok {
			out = append(out, s)
		}
	}
	if jt, ok := spec["jobTemplate"].(map[string]any); ok {
		if js, ok := jt["spec"].(map[string]any); ok {
			if t, ok := js["template"].(map[string]any); ok {
				if s, ok := t["spec"].(map[string]any); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
