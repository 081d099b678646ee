// Package registry watches container registries for `bulwark server`:
// registry settings with sealed credentials, the notification payloads
// registries send (CNCF distribution, Harbor, a generic form), a crawler
// for registries that send none, and the scan jobs (River, on the store's
// own database) that inventory each pushed digest once and hand it to the
// server's ingestion, as `scan image --server` does.
package registry

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/image"
)

// Auth kinds.
const (
	AuthNone   = "none"   // anonymous
	AuthBasic  = "basic"  // username and password
	AuthToken  = "token"  // a registry (bearer) token or identity token
	AuthDocker = "docker" // the server's Docker config and credential helpers
)

// Config is a watched registry's settings as the API takes and returns
// them; the secret (password or token) is kept apart, sealed.
type Config struct {
	Name string `json:"name"`
	// URL is the registry's base URL (https://registry.example, or
	// http://127.0.0.1:5000 for a loopback one).
	URL      string `json:"url"`
	Auth     string `json:"auth"`
	Username string `json:"username,omitempty"`
	// Include and Exclude are repository globs (doublestar: * within a
	// path segment, ** across them); empty Include takes every repository.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Repositories is what the crawler lists when the registry offers no
	// /v2/_catalog (Docker Hub, GHCR, ECR).
	Repositories []string `json:"repositories,omitempty"`
	// CrawlInterval lists tags on that interval (0: only events).
	CrawlInterval Duration `json:"crawl_interval,omitempty"`
	// Concurrency is how many of this registry's scan jobs one replica
	// runs at once (default 2).
	Concurrency int `json:"concurrency,omitempty"`
	// Timeout bounds one scan (default 10m); MaxImageSize the compressed
	// size of an image (default 20 GiB).
	Timeout      Duration `json:"timeout,omitempty"`
	MaxImageSize int64    `json:"max_image_size,omitempty"`
	// Insecure allows plain HTTP and unverified TLS (loopback registries
	// always allow plain HTTP).
	Insecure bool `json:"insecure,omitempty"`
}

// Duration is a time.Duration written as "10m".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: %w", err)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// NameRE is what a registry's name may be: it names a job queue and a URL
// path segment.
var NameRE = regexp.MustCompile(`^[a-z0-9]+(?:[_-][a-z0-9]+)*$`)

// Defaults.
const (
	DefaultConcurrency  = 2
	DefaultTimeout      = 10 * time.Minute
	DefaultMaxImageSize = 20 << 30
	MinCrawlInterval    = 10 * time.Second
)

// Normalise checks a config and fills its defaults.
func (c *Config) Normalise() error {
	if len(c.Name) > 40 || !NameRE.MatchString(c.Name) {
		return fmt.Errorf("registry name %q: up to 40 of a-z 0-9, words joined by single _ or -", c.Name)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("registry url %q: give the base URL, https://host[:port] (no path, no credentials)", c.URL)
	}
	c.URL = u.Scheme + "://" + u.Host
	if _, err := name.NewRegistry(u.Host, name.Insecure); err != nil {
		return fmt.Errorf("registry url %q: %w", c.URL, err)
	}
	if u.Scheme == "http" && !c.Insecure && !image.IsLoopback(u.Host) {
		return fmt.Errorf("registry url %q: plain HTTP to a non-loopback registry needs insecure: true", c.URL)
	}
	switch c.Auth {
	case "":
		c.Auth = AuthNone
		if c.Username != "" {
			c.Auth = AuthBasic
		}
	case AuthNone, AuthBasic, AuthToken, AuthDocker:
	default:
		return fmt.Errorf("auth %q: one of none, basic, token, docker", c.Auth)
	}
	if c.Auth == AuthBasic && c.Username == "" {
		return errors.New("auth basic needs a username")
	}
	for _, g := range append(append([]string{}, c.Include...), c.Exclude...) {
		if !doublestar.ValidatePattern(g) {
			return fmt.Errorf("repository glob %q is not valid", g)
		}
	}
	for _, r := range c.Repositories {
		if !repoRE.MatchString(r) {
			return fmt.Errorf("repository %q is not a valid repository name", r)
		}
	}
	if c.CrawlInterval != 0 && time.Duration(c.CrawlInterval) < MinCrawlInterval {
		return fmt.Errorf("crawl_interval %s: at least %s", time.Duration(c.CrawlInterval), MinCrawlInterval)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return fmt.Errorf("concurrency %d: 1 to 64", c.Concurrency)
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.MaxImageSize == 0 {
		c.MaxImageSize = DefaultMaxImageSize
	}
	return nil
}

// Host is the registry's host[:port], as image references start.
func (c *Config) Host() string {
	u, _ := url.Parse(c.URL)
	if u == nil {
		return ""
	}
	return u.Host
}

// Wants says whether a repository is watched (Include, then Exclude).
func (c *Config) Wants(repo string) bool {
	if len(c.Include) > 0 {
		ok := false
		for _, g := range c.Include {
			if m, _ := doublestar.Match(g, repo); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, g := range c.Exclude {
		if m, _ := doublestar.Match(g, repo); m {
			return false
		}
	}
	return true
}

// keychain gives go-containerregistry the registry's credentials.
func (c *Config) keychain(secret string) authn.Keychain {
	switch c.Auth {
	case AuthDocker:
		return authn.DefaultKeychain
	case AuthBasic:
		return staticKeychain{host: c.Host(), auth: authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: secret})}
	case AuthToken:
		if c.Username != "" {
			return staticKeychain{host: c.Host(), auth: authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: secret})}
		}
		return staticKeychain{host: c.Host(), auth: authn.FromConfig(authn.AuthConfig{RegistryToken: secret})}
	}
	return staticKeychain{host: c.Host(), auth: authn.Anonymous}
}

// staticKeychain answers for one registry host only: the credentials never
// go to another host (a redirect to blob storage gets none).
type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// Sealer seals registry secrets with AES-256-GCM under the server's
// secrets key. Replicas sharing a store share the key file.
type Sealer struct{ aead cipher.AEAD }

// LoadSealer reads the 32-byte key file, creating it (mode 0600) when
// absent.
func LoadSealer(path string) (*Sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(path, 0o600, func(w io.Writer) error { _, err := w.Write(key); return err }); err != nil {
			return nil, fmt.Errorf("write secrets key %s: %w", path, err)
		}
		// Two replicas starting together: the first file written wins.
		if key, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read secrets key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secrets key %s: %w", path, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key %s: want 32 bytes, got %d", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts a secret bound to the registry's name ("" seals to nil).
func (s *Sealer) Seal(name, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte("bulwark-registry:"+name)), nil
}

// Open decrypts a sealed secret.
func (s *Sealer) Open(name string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed secret too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte("bulwark-registry:"+name))
	if err != nil {
		return "", fmt.Errorf("open the secret of registry %s (is this the secrets key it was sealed with?): %w", name, err)
	}
	return string(pt), nil
}
