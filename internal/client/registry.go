package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// NewRegistry is what AddRegistry sends: the settings and the secret.
type NewRegistry struct {
	registry.Config
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// AddRegistry has the server watch a registry (`bulwark registry add`).
func (c *Client) AddRegistry(ctx context.Context, r NewRegistry) (*registry.Config, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode registry: %w", err)
	}
	var out registry.Config
	if err := c.do(ctx, http.MethodPost, "/api/v1/registries", nil, b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegistryImagePage is a page of a registry's images with their scan state.
type RegistryImagePage struct {
	Items []store.RegistryImageState `json:"items"`
	Next  string                     `json:"next"`
}

// RegistryImages lists a registry's images (one page from cursor).
func (c *Client) RegistryImages(ctx context.Context, name, cursor string) (*RegistryImagePage, error) {
	var q url.Values
	if cursor != "" {
		q = url.Values{"cursor": {cursor}}
	}
	var out RegistryImagePage
	if err := c.do(ctx, http.MethodGet, "/api/v1/registries/"+url.PathEscape(name)+"/images", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CrawlRegistry asks the server to crawl a registry now.
func (c *Client) CrawlRegistry(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/registries/"+url.PathEscape(name)+"/crawl", nil, []byte("{}"), nil)
}
