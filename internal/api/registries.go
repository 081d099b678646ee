package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Registries is the registry watch as the API drives it
// (registry.Watcher).
type Registries interface {
	Add(ctx context.Context, cfg registry.Config, secret string) (*registry.Config, error)
	Get(ctx context.Context, name string) (*registry.Config, error)
	List(ctx context.Context) ([]registry.Config, error)
	Delete(ctx context.Context, name string) error
	Notify(ctx context.Context, name string, evs []registry.Event) (registry.NotifyResult, error)
	Crawl(ctx context.Context, name string) error
}

// MaxNotificationBody bounds a registry notification (distribution sends
// a few KB).
const MaxNotificationBody = 1 << 20

// RegistryRequest is the body of POST /api/v1/registries: the settings,
// and the password or token (sealed at rest, never returned).
type RegistryRequest struct {
	registry.Config
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

func (a *API) registryRoutes() []Route {
	nameParam := []Param{{Name: "name", In: "path", Desc: "registry name"}}
	return []Route{
		{Method: "GET", Path: "/api/v1/registries", Scope: auth.ScopeRead, Tag: "registries", Summary: "Watched registries (never their credentials).", Result: "Registries", Handler: a.listRegistries},
		{Method: "POST", Path: "/api/v1/registries", Scope: auth.ScopeAdmin, Tag: "registries", Summary: "Watch a registry: its URL, credentials (sealed at rest, never returned), repository globs, crawl interval, concurrency.",
			Body: "NewRegistry", Result: "Registry", Status: 201, Handler: a.createRegistry},
		{Method: "GET", Path: "/api/v1/registries/{name}", Scope: auth.ScopeRead, Tag: "registries", Summary: "One registry's settings.", Params: nameParam, Result: "Registry", Handler: a.getRegistry},
		{Method: "DELETE", Path: "/api/v1/registries/{name}", Scope: auth.ScopeAdmin, Tag: "registries", Summary: "Stop watching a registry (its images' stored results stay).", Params: nameParam, Status: 204, Handler: a.deleteRegistry},
		{Method: "POST", Path: "/api/v1/registries/{name}/events", Scope: auth.ScopeIngest, Tag: "registries",
			Summary: "The registry's notification endpoint: CNCF distribution's events envelope (application/vnd.docker.distribution.events.v1+json), Harbor's webhook payload, or {repository, digest, action[, tag]} (or an array of them). Pushes and pulls not scanned yet are queued.",
			Params:  nameParam, Body: "RegistryEvents", Result: "NotifyResult", Status: 202, Handler: a.registryEvents},
		{Method: "POST", Path: "/api/v1/registries/{name}/crawl", Scope: auth.ScopeAdmin, Tag: "registries", Summary: "Crawl the registry now (catalog or its repository list, then tags): new and moved digests are queued.",
			Params: nameParam, Status: 202, Handler: a.crawlRegistry},
		{Method: "GET", Path: "/api/v1/registries/{name}/images", Scope: auth.ScopeRead, Tag: "registries", Summary: "The registry's digests by repository, with push, pull and delete times, scan state (pending, scanned, failed with the reason) and each image's verdict.",
			Params: []Param{{Name: "name", In: "path", Desc: "registry name"}, q("limit", "page size (1-500, default 100)"), q("cursor", "the `next` of the previous page")}, Result: "RegistryImagePage", Handler: a.registryImages},
	}
}

func (a *API) registries(w http.ResponseWriter, r *http.Request) (Registries, bool) {
	if a.o.Registries == nil {
		problem(w, r, http.StatusNotFound, "registry watch not enabled", "this server does not watch registries")
		return nil, false
	}
	return a.o.Registries, true
}

func (a *API) registryError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, registry.ErrBadSettings):
		problem(w, r, http.StatusUnprocessableEntity, "invalid registry settings", err.Error())
	default:
		a.storeError(w, r, err, "registry")
	}
}

func (a *API) listRegistries(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	cs, err := rs.List(r.Context())
	if err != nil {
		a.registryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (a *API) createRegistry(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	var in RegistryRequest
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Password != "" && in.Token != "" {
		problem(w, r, http.StatusUnprocessableEntity, "invalid registry request", "give a password or a token, not both")
		return
	}
	secret := in.Password
	if in.Token != "" {
		secret = in.Token
		if in.Auth == "" {
			in.Auth = registry.AuthToken
		}
	}
	cfg, err := rs.Add(r.Context(), in.Config, secret)
	if err != nil {
		a.registryError(w, r, err)
		return
	}
	a.audit(r, "registry.create", cfg.Name, fmt.Sprintf("%s auth %s", cfg.URL, cfg.Auth))
	writeJSON(w, http.StatusCreated, cfg)
}

func (a *API) getRegistry(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	cfg, err := rs.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		a.registryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cfg)
}

func (a *API) deleteRegistry(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := rs.Delete(r.Context(), name); err != nil {
		a.registryError(w, r, err)
		return
	}
	a.audit(r, "registry.delete", name, "")
	w.WriteHeader(http.StatusNoContent)
}

// registryEvents takes a registry's notification. The registry is told
// 202 once the events are recorded and their scans queued; a body that
// does not validate changes nothing.
func (a *API) registryEvents(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || mt == registry.DistributionMediaType || strings.HasSuffix(mt, "+json")) {
			problem(w, r, http.StatusUnsupportedMediaType, "unsupported notification type", "send JSON: "+registry.DistributionMediaType+", or application/json")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxNotificationBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, r, http.StatusRequestEntityTooLarge, "notification too large", fmt.Sprintf("a notification may hold at most %d bytes", MaxNotificationBody))
			return
		}
		problem(w, r, http.StatusBadRequest, "could not read the body", err.Error())
		return
	}
	name := r.PathValue("name")
	if _, err := rs.Get(r.Context(), name); err != nil {
		a.registryError(w, r, err)
		return
	}
	format, evs, err := registry.ParseEvents(r.Header.Get("Content-Type"), body)
	if err != nil {
		problem(w, r, http.StatusUnprocessableEntity, "invalid notification", err.Error())
		return
	}
	res, err := rs.Notify(r.Context(), name, evs)
	res.Format = format
	if err != nil {
		a.registryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (a *API) crawlRegistry(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	if err := rs.Crawl(r.Context(), r.PathValue("name")); err != nil {
		a.registryError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (a *API) registryImages(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.registries(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, err := rs.Get(r.Context(), name); err != nil {
		a.registryError(w, r, err)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	afterRepo, afterDigest, _ := strings.Cut(r.URL.Query().Get("cursor"), "@")
	items, err := a.o.Store.RegistryImages(r.Context(), name, afterRepo, afterDigest, limit)
	if err != nil {
		a.storeError(w, r, err, "registry images")
		return
	}
	next := ""
	if len(items) == limit {
		last := items[len(items)-1]
		next = last.Repository + "@" + last.Digest
	}
	if items == nil {
		items = []store.RegistryImageState{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
}
