package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// OIDCOptions configure single sign-on with an OpenID Connect provider
// (authorization code flow with PKCE). Users it vouches for are stored as
// "oidc:<preferred_username|email|sub>": the colon no local user name may
// hold keeps a provider from ever taking over a local account.
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // https://server/api/v1/oidc/callback
	// Name is the provider as the log-in page names it ("Sign in with
	// Name"); default: the issuer's host.
	Name string
	// RoleClaim names the claim (a string or a list of strings) whose
	// values RoleMap maps to roles; the highest role wins. Users matching
	// no entry get DefaultRole ("" refuses them).
	RoleClaim   string
	RoleMap     map[string]auth.Role
	DefaultRole auth.Role
	HTTPClient  *http.Client // the provider's CA, timeouts
}

type oidcLogin struct {
	o        OIDCOptions
	mu       sync.Mutex
	provider *oidc.Provider
}

// provider discovers the provider on first use (and again after a
// failure), so a server starts while its provider is down.
func (l *oidcLogin) get(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.provider == nil {
		p, err := oidc.NewProvider(l.ctx(ctx), l.o.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("discover the OIDC provider %s: %w", l.o.Issuer, err)
		}
		l.provider = p
	}
	return l.provider, &oauth2.Config{ClientID: l.o.ClientID, ClientSecret: l.o.ClientSecret, RedirectURL: l.o.RedirectURL,
		Endpoint: l.provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}, nil
}

func (l *oidcLogin) ctx(ctx context.Context) context.Context {
	if l.o.HTTPClient != nil {
		return oidc.ClientContext(ctx, l.o.HTTPClient)
	}
	return ctx
}

const oidcStateCookie = "bulwark_oidc_state"

// safeReturn keeps a redirect on this server: a path, never another host.
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

func (a *API) oidcStart(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		problem(w, r, http.StatusNotFound, "single sign-on not configured", "start the server with --oidc-issuer")
		return
	}
	if !a.loginAllowed(r) {
		problem(w, r, http.StatusTooManyRequests, "too many log-in attempts", "wait a minute")
		return
	}
	_, cfg, err := a.oidc.get(r.Context())
	if err != nil {
		a.o.Logger.Error("oidc", "err", err)
		problem(w, r, http.StatusBadGateway, "identity provider unreachable", "the server could not reach its OIDC provider; it is logged")
		return
	}
	state, err1 := auth.RandomString(32)
	nonce, err2 := auth.RandomString(32)
	if err1 != nil || err2 != nil {
		problem(w, r, http.StatusInternalServerError, "no randomness", "")
		return
	}
	verifier := oauth2.GenerateVerifier()
	if err := a.o.Store.PutOIDCState(r.Context(), store.OIDCState{StateHash: auth.HashSecret(state), Nonce: nonce, Verifier: verifier,
		ReturnTo: safeReturn(r.URL.Query().Get("return_to")), ExpiresAt: a.o.Now().Add(10 * time.Minute)}); err != nil {
		a.storeError(w, r, err, "log-in state")
		return
	}
	// Lax: the provider's redirect back is a cross-site top-level GET.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: "/api/v1/oidc", HttpOnly: true, Secure: a.o.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (a *API) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		problem(w, r, http.StatusNotFound, "single sign-on not configured", "start the server with --oidc-issuer")
		return
	}
	if !a.loginAllowed(r) {
		problem(w, r, http.StatusTooManyRequests, "too many log-in attempts", "wait a minute")
		return
	}
	q := r.URL.Query()
	fail := func(status int, why string, err error) {
		a.o.Logger.Warn("oidc log-in failed", "client", clientIP(r), "why", why, "err", err)
		problem(w, r, status, "single sign-on failed", why)
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, "the identity provider refused: "+e, nil)
		return
	}
	c, err := r.Cookie(oidcStateCookie)
	state := q.Get("state")
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		fail(http.StatusBadRequest, "the log-in state does not match this browser's: start again", err)
		return
	}
	st, err := a.o.Store.TakeOIDCState(r.Context(), auth.HashSecret(state))
	if err != nil {
		fail(http.StatusBadRequest, "the log-in expired or was already used: start again", err)
		return
	}
	provider, cfg, err := a.oidc.get(r.Context())
	if err != nil {
		fail(http.StatusBadGateway, "identity provider unreachable", err)
		return
	}
	ctx := a.oidc.ctx(r.Context())
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		fail(http.StatusUnauthorized, "the code could not be exchanged", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(http.StatusUnauthorized, "the provider sent no ID token", nil)
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: a.oidc.o.ClientID, Now: a.o.Now}).Verify(ctx, raw)
	if err != nil {
		fail(http.StatusUnauthorized, "the ID token did not verify", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		fail(http.StatusUnauthorized, "the ID token's nonce does not match", nil)
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail(http.StatusUnauthorized, "unreadable claims", err)
		return
	}
	// Names and roles may live in the userinfo rather than the ID token.
	if ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		var more map[string]any
		if ui.Claims(&more) == nil {
			for k, v := range more {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	name := firstString(claims, "preferred_username", "email", "sub")
	if name == "" || len(name) > 200 {
		fail(http.StatusUnauthorized, "the ID token names no user", nil)
		return
	}
	name = "oidc:" + name
	role := a.oidc.role(claims)
	if role == "" {
		fail(http.StatusForbidden, "this identity has no role on this server", errors.New(name))
		return
	}
	if u, err := a.o.Store.User(r.Context(), name); err == nil && u.Disabled {
		fail(http.StatusForbidden, "this user is disabled", nil)
		return
	}
	if err := a.o.Store.UpsertExternalUser(r.Context(), name, string(role)); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	if _, ok := a.startSession(w, r, name); !ok {
		return
	}
	a.o.Logger.Info("log-in", "user", name, "role", role, "via", "oidc", "client", clientIP(r))
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: "", Path: "/api/v1/oidc", MaxAge: -1, HttpOnly: true, Secure: a.o.SecureCookies})
	http.Redirect(w, r, safeReturn(st.ReturnTo), http.StatusFound)
}

func firstString(claims map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := claims[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// role maps the role claim's values to the highest role they give.
func (l *oidcLogin) role(claims map[string]any) auth.Role {
	rank := map[auth.Role]int{auth.RoleReader: 1, auth.RoleAnalyst: 2, auth.RoleAdmin: 3}
	best := l.o.DefaultRole
	consider := func(v string) {
		if r, ok := l.o.RoleMap[v]; ok && rank[r] > rank[best] {
			best = r
		}
	}
	switch v := claims[l.o.RoleClaim].(type) {
	case string:
		consider(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				consider(s)
			}
		}
	}
	return best
}
