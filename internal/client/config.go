package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// ImageVerdicts asks the server for the verdicts of images (references or
// digests, at most store.MaxImageLookups), answered in the order asked.
func (c *Client) ImageVerdicts(ctx context.Context, images []string) ([]model.ImageVerdict, error) {
	var out struct {
		Items []model.ImageVerdict `json:"items"`
	}
	if err := c.PostJSONTo(ctx, "/api/v1/images/verdicts", map[string]any{"images": images}, &out); err != nil {
		return nil, err
	}
	if len(out.Items) != len(images) {
		return nil, fmt.Errorf("image verdicts: asked %d, answered %d", len(images), len(out.Items))
	}
	return out.Items, nil
}

// ErrNotModified: the document still has the ETag the caller holds.
var ErrNotModified = errors.New("not modified")

// ConfigDoc reads a configuration document (policies, runtime-exceptions)
// and its ETag. With etag set and the document unchanged, it returns
// ErrNotModified (the server answered 304).
func (c *Client) ConfigDoc(ctx context.Context, name, etag string) (*store.ConfigDoc, string, error) {
	path := "/api/v1/config/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(path), nil)
	if err != nil {
		return nil, "", err
	}
	if tok := c.Token(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, etag, ErrNotModified
	case resp.StatusCode/100 != 2:
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(data, p) != nil || p.Title == "" {
			p.Title = http.StatusText(resp.StatusCode)
		}
		p.Status = resp.StatusCode
		return nil, "", p
	}
	var d store.ConfigDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, "", fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	return &d, resp.Header.Get("ETag"), nil
}

// PutConfigDoc replaces a configuration document (admin scope).
func (c *Client) PutConfigDoc(ctx context.Context, name, body string) (*store.ConfigDoc, error) {
	b, err := json.Marshal(map[string]string{"config": body})
	if err != nil {
		return nil, err
	}
	var d store.ConfigDoc
	if err := c.do(ctx, http.MethodPut, "/api/v1/config/"+url.PathEscape(name), nil, b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
