package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/registry"
)

func newRegistryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Have a Bulwark server watch container registries",
		Long: `Connect registries to a Bulwark server: every image pushed (notifications to
/api/v1/registries/NAME/events, or the crawler) is scanned once by digest, and
images pushed or pulled within the window stay under assessment.`,
	}
	cmd.AddCommand(newRegistryAddCmd(), newRegistryListCmd())
	return cmd
}

func newRegistryAddCmd() *cobra.Command {
	var sf serverFlags
	var in client.NewRegistry
	var passwordStdin bool
	var crawl, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "add --server URL --token T --name NAME --url REGISTRY_URL",
		Short: "Watch a registry (needs an admin token)",
		Long: `Register a registry with the server. Credentials: --username with
--password-stdin (basic), --auth token with the token on stdin, or --auth docker
(the server's Docker config and credential helpers). The secret is sealed in the
server's store and never shown again.

Then point the registry's notifications at
SERVER/api/v1/registries/NAME/events with a token of ingest scope (CNCF
distribution: notifications.endpoints in its config; Harbor: a webhook policy),
or give --crawl-interval for registries that send none.`,
		Example: `  echo "$PASS" | bulwark registry add --server https://bulwark.example --token-file admin.token \
      --name prod --url https://registry.example --username ci --password-stdin --include 'team/**'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf.server == "" {
				return &usageError{errors.New("--server is required")}
			}
			if in.Name == "" || in.URL == "" {
				return &usageError{errors.New("--name and --url are required")}
			}
			c, err := sf.client()
			if err != nil {
				return err
			}
			if passwordStdin {
				secret, err := readSecret(cmd.InOrStdin())
				if err != nil {
					return &usageError{err}
				}
				if in.Auth == registry.AuthToken {
					in.Token = secret
				} else {
					in.Password = secret
				}
			}
			in.CrawlInterval, in.Timeout = registry.Duration(crawl), registry.Duration(timeout)
			cfg, err := c.AddRegistry(cmd.Context(), in)
			if err != nil {
				return fmt.Errorf("add registry %s: %w", in.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registry %s (%s) added; notifications: %s/api/v1/registries/%s/events (Bearer token of ingest scope)\n",
				cfg.Name, cfg.URL, strings.TrimRight(sf.server, "/"), cfg.Name)
			return nil
		},
	}
	sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&in.Name, "name", "", "registry name (a-z 0-9, words joined by _ or -)")
	fl.StringVar(&in.URL, "url", "", "registry base URL (https://host[:port]; http:// for loopback or with --insecure)")
	fl.StringVar(&in.Auth, "auth", "", "none, basic, token or docker (default: basic with --username, else none)")
	fl.StringVar(&in.Username, "username", "", "registry user")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the password (or, with --auth token, the token) from standard input")
	fl.StringSliceVar(&in.Include, "include", nil, "repository glob to watch (repeatable; ** crosses /); default all")
	fl.StringSliceVar(&in.Exclude, "exclude", nil, "repository glob not to watch (repeatable)")
	fl.StringSliceVar(&in.Repositories, "repository", nil, "repository the crawler lists where the registry has no catalog (repeatable)")
	fl.DurationVar(&crawl, "crawl-interval", 0, "list tags on this interval (0: notifications only)")
	fl.IntVar(&in.Concurrency, "concurrency", 0, "scans of this registry at once per server replica (default 2)")
	fl.DurationVar(&timeout, "timeout", 0, "bound on one image's scan (default 10m)")
	fl.BoolVar(&in.Insecure, "insecure", false, "plain HTTP or unverified TLS to the registry")
	return cmd
}

func newRegistryListCmd() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "list --server URL --token T",
		Short: "List the registries the server watches (never their credentials)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf.server == "" {
				return &usageError{errors.New("--server is required")}
			}
			c, err := sf.client()
			if err != nil {
				return err
			}
			var out struct {
				Items []registry.Config `json:"items"`
			}
			if err := c.Get(cmd.Context(), "/api/v1/registries", nil, &out); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out.Items)
		},
	}
	sf.register(cmd)
	return cmd
}

// readSecret reads one line (a password or token) from r.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the secret from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	return line, nil
}
