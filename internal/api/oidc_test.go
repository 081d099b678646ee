package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// registerOnce: the example provider keeps its clients in a package map.
var registerOnce sync.Mutex

// startProvider runs a real OpenID Provider (zitadel/oidc's certified OP
// library with its example storage and log-in page) on loopback.
func startProvider(t *testing.T, redirect string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	registerOnce.Lock()
	storage.RegisterClients(storage.WebClient("bulwark", "client-secret", redirect))
	registerOnce.Unlock()
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	srv := &http.Server{Handler: router}
	go srv.Serve(l) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	return issuer
}

var loginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// ssoLogin walks the browser's path: Bulwark → provider's log-in page →
// form post → back to Bulwark's callback; it returns the final response.
func ssoLogin(t *testing.T, base, user, password string) (*http.Client, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(base + "/api/v1/oidc/login?return_to=/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loginID.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no log-in form at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, page)
	}
	form := url.Values{"id": {string(m[1])}, "username": {user}, "password": {password}}
	loginURL := resp.Request.URL.Scheme + "://" + resp.Request.URL.Host + "/login/username"
	resp, err = c.PostForm(loginURL, form)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

func TestOIDCLogin(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Bulwark's address first: the provider must know its callback.
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + bl.Addr().String()
	issuer := startProvider(t, base+"/api/v1/oidc/callback")
	host := strings.Split(strings.TrimPrefix(issuer, "http://"), ":")[0]
	a := api.New(api.Options{Store: st, OIDC: &api.OIDCOptions{Issuer: issuer, ClientID: "bulwark", ClientSecret: "client-secret",
		RedirectURL: base + "/api/v1/oidc/callback", RoleClaim: "email", RoleMap: map[string]auth.Role{"test-user@zitadel.ch": auth.RoleAdmin},
		DefaultRole: auth.RoleReader}})
	srv := httptest.NewUnstartedServer(a)
	srv.Listener.Close()
	srv.Listener = bl
	srv.Start()
	defer srv.Close()

	// The first user's email maps to admin; the landing page is /api/v1/me.
	c, resp := ssoLogin(t, base, "test-user@"+host, "verysecure")
	var me api.Me
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after SSO: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if me.Kind != "user" || me.Name != "oidc:test-user@"+host || me.Role != "admin" {
		t.Errorf("SSO user = %+v", me)
	}
	// The session works for the API, with CSRF like a password session.
	req, _ := http.NewRequest("GET", base+"/api/v1/users", nil)
	if r, err := c.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf("admin via SSO lists users: %v %v", r.StatusCode, err)
	}
	// Another user gets the default role, reader: no admin routes.
	c2, resp := ssoLogin(t, base, "test-user2", "verysecure")
	json.NewDecoder(resp.Body).Decode(&me) //nolint:errcheck
	resp.Body.Close()
	if me.Name != "oidc:test-user2" || me.Role != "reader" {
		t.Errorf("second SSO user = %+v", me)
	}
	if r, _ := c2.Get(base + "/api/v1/users"); r.StatusCode != 403 {
		t.Errorf("reader via SSO lists users: %d, want 403", r.StatusCode)
	}
	// A wrong password never reaches Bulwark; a forged callback is refused.
	_, resp = ssoLogin(t, base, "test-user2", "wrong")
	resp.Body.Close()
	if strings.HasPrefix(resp.Request.URL.String(), base) {
		t.Errorf("a wrong password at the provider landed on %s", resp.Request.URL)
	}
	r, err := http.Get(base + "/api/v1/oidc/callback?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 400 {
		t.Errorf("callback without the browser's state = %d, want 400", r.StatusCode)
	}
	// A provider's user can never be a local one: no password log-in.
	u, err := st.User(ctx, "oidc:test-user2")
	if err != nil || u.PasswordHash != "" || auth.VerifyPassword("", u.PasswordHash) {
		t.Errorf("SSO user in the store = %+v, %v", u, err)
	}
}
