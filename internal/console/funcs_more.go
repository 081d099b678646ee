package console

import (
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/bulwarkdev/bulwark/internal/registry"
)

// pageFuncs are the template helpers of the score, vulnerability and
// settings pages.
var pageFuncs = template.FuncMap{
	// withQ is the page's URL with one parameter set (a new filter, sort
	// or window starts again at the first page).
	"withQ": func(u *url.URL, k, v string) string {
		q := u.Query()
		q.Set(k, v)
		q.Del("cursor")
		q.Del("done")
		return u.Path + "?" + q.Encode()
	},
	// kubeKind: a resource a cluster-scoped exemption can cover.
	"kubeKind": func(k string) bool {
		switch k {
		case "cluster", "namespace", "workload", "node":
			return true
		}
		return false
	},
	"scoreWindows": func() []string { return []string{"7", "30", "90"} },
	"roles":        func() []string { return []string{"reader", "analyst", "admin"} },
	// epss writes an EPSS probability (0–1) as a percentage.
	"epss": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"sub1": func(n int) int { return n - 1 },
	"dur":  func(d registry.Duration) string { return time.Duration(d).String() },
	"registryAuths": func() []string {
		return []string{registry.AuthNone, registry.AuthBasic, registry.AuthToken, registry.AuthDocker}
	},
}
