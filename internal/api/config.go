package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Configuration documents the engines pull from the server
// (internal/remoteconfig): the workload policy config and the run-time
// alert exceptions, as the YAML their files hold.
const (
	ConfigPolicies          = "policies"
	ConfigRuntimeExceptions = "runtime-exceptions"
)

// maxConfigBytes bounds a configuration document.
const maxConfigBytes = 1 << 20

// configValidators check a document with the parser its engine uses, so
// the server never hands out a document an engine would refuse.
var configValidators = map[string]func(ctx context.Context, body []byte) error{
	ConfigPolicies: func(ctx context.Context, body []byte) error {
		cfg, err := policy.ParseServerConfig(body)
		if err != nil {
			return err
		}
		// The engine itself: unknown policy ids and bad parameters are
		// refused here as an engine would refuse them at load.
		_, err = policy.New(ctx, cfg)
		return err
	},
	ConfigRuntimeExceptions: func(_ context.Context, body []byte) error {
		_, err := runtime.ParseExceptions(ConfigRuntimeExceptions, body)
		return err
	},
}

func (a *API) configRoutes() []Route {
	var out []Route
	for _, c := range []struct{ name, what string }{
		{ConfigPolicies, "the workload policy config (modes, parameters, namespaces, exempt images, pod_security; the YAML of --config, without policy_dirs)"},
		{ConfigRuntimeExceptions, "the run-time alert exceptions (the YAML of an --exceptions file)"},
	} {
		name := c.name
		out = append(out,
			Route{Method: "GET", Path: "/api/v1/config/" + name, Scope: auth.ScopeRead, Tag: "config",
				Summary: "Read " + c.what + " with its version; ETag and If-None-Match (304) let engines poll cheaply. Version 0 (empty) means the engines' defaults.",
				Result:  "ConfigDoc", Handler: func(w http.ResponseWriter, r *http.Request) { a.getConfig(w, r, name) }, Agents: true},
			Route{Method: "PUT", Path: "/api/v1/config/" + name, Scope: auth.ScopeAdmin, Tag: "config",
				Summary: "Replace " + c.what + ". Checked with the engine's own parser: a broken document is refused (422, the parser's message) and the current one stays. If-Match (the ETag read) refuses a change to a version no longer current (412).",
				Body:    "ConfigUpdate", Result: "ConfigDoc", Handler: func(w http.ResponseWriter, r *http.Request) { a.putConfig(w, r, name) }},
		)
	}
	return out
}

// configETag is a document's entity tag: its version and a hash of its
// body (a store rebuilt from scratch reuses version numbers).
func configETag(d *store.ConfigDoc) string {
	h := sha256.Sum256([]byte(d.Body))
	return `"` + strconv.FormatInt(d.Version, 10) + "-" + hex.EncodeToString(h[:6]) + `"`
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request, name string) {
	d, err := a.o.Store.ConfigDoc(r.Context(), name)
	if err != nil {
		a.storeError(w, r, err, "config")
		return
	}
	etag := configETag(d)
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagIn(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// etagIn reports whether a If-None-Match / If-Match list holds etag.
func etagIn(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == etag || e == "*" {
			return true
		}
	}
	return false
}

// ConfigUpdate replaces a configuration document.
type ConfigUpdate struct {
	Config string `json:"config"`
}

func (a *API) putConfig(w http.ResponseWriter, r *http.Request, name string) {
	var in ConfigUpdate
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Config) > maxConfigBytes {
		problem(w, r, http.StatusRequestEntityTooLarge, "config too large", fmt.Sprintf("at most %d bytes", maxConfigBytes))
		return
	}
	if err := configValidators[name](r.Context(), []byte(in.Config)); err != nil {
		problem(w, r, http.StatusUnprocessableEntity, "invalid "+name+" config", err.Error())
		return
	}
	ifVersion := int64(-1)
	if im := r.Header.Get("If-Match"); im != "" {
		cur, err := a.o.Store.ConfigDoc(r.Context(), name)
		if err != nil {
			a.storeError(w, r, err, "config")
			return
		}
		if !etagIn(im, configETag(cur)) {
			w.Header().Set("ETag", configETag(cur))
			problem(w, r, http.StatusPreconditionFailed, "config changed", fmt.Sprintf("the %s config is at version %d now: read it again and re-apply the change", name, cur.Version))
			return
		}
		ifVersion = cur.Version
	}
	actor := principalOf(r).Actor()
	d, changed, err := a.o.Store.PutConfigDoc(r.Context(), name, in.Config, actor, ifVersion)
	if errors.Is(err, store.ErrVersionMismatch) {
		problem(w, r, http.StatusPreconditionFailed, "config changed", err.Error())
		return
	}
	if err != nil {
		a.storeError(w, r, err, "config")
		return
	}
	if changed {
		a.audit(r, "config.update", name, fmt.Sprintf("version %d (%d bytes)", d.Version, len(d.Body)))
	}
	w.Header().Set("ETag", configETag(d))
	writeJSON(w, http.StatusOK, d)
}
