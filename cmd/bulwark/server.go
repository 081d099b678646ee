package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/dbartifact"
	"github.com/google/go-containerregistry/pkg/name"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/notify"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func newServerCmd(g *globalFlags) *cobra.Command {
	o := server.Options{}
	var maxBody int64
	var ingestConc int
	var dbVerifyKey, threshold, notifyConfig, databaseFile string
	var oidcFlags struct {
		issuer, clientID, secretFile, redirect, roleClaim, defaultRole, ca, name string
		roleMap                                                                  []string
	}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Bulwark server: the store every result lands in, and its API",
		Long: `Run the server: a store (SQLite in --data-dir by default, PostgreSQL with
--database), ingestion of every capability's reports (POST /api/v1/reports),
the inventory, users and tokens, and the API described at /api/v1/openapi.json.

On first run it creates the user admin and writes its password once to
DATA_DIR/initial-admin-password (mode 0600); the first log-in must replace it.
Without --tls-cert/--tls-key it listens on loopback only, unless told
--insecure-listen by name.`,
		Example: `  bulwark server --data-dir /var/lib/bulwark --listen 127.0.0.1:8443
  bulwark server --data-dir /var/lib/bulwark --listen :8443 --tls-cert tls.crt --tls-key tls.key --database postgres://bulwark@db/bulwark`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.DataDir == "" {
				return &usageError{errors.New("--data-dir is required")}
			}
			o.CacheDir, o.Version, o.Logger = g.cacheDir, version, g.logger
			if databaseFile != "" {
				if o.Database != "" {
					return &usageError{errors.New("--database and --database-file: choose one")}
				}
				b, err := os.ReadFile(databaseFile)
				if err != nil {
					return &usageError{fmt.Errorf("--database-file: %w", err)}
				}
				o.Database = strings.TrimSpace(string(b))
			}
			o.API.MaxBody, o.API.MaxConcurrentIngest = maxBody, ingestConc
			// --db-source names local feeds, or one registry reference of a DB
			// published with `db push` (air-gapped fleets).
			if len(o.DBSources) == 1 && isRegistryRef(o.DBSources[0]) {
				o.DBFrom, o.DBSources = o.DBSources[0], nil
			}
			if dbVerifyKey != "" {
				if o.DBFrom == "" {
					return &usageError{errors.New("--db-verify-key goes with --db-source REGISTRY/REPO:TAG")}
				}
				k, err := dbartifact.ReadPublicKey(dbVerifyKey)
				if err != nil {
					return &usageError{err}
				}
				o.DBVerifyKey = k
			}
			if oidcFlags.issuer != "" {
				oo, err := oidcOptions(oidcFlags.issuer, oidcFlags.clientID, oidcFlags.secretFile, oidcFlags.redirect, oidcFlags.roleClaim, oidcFlags.defaultRole, oidcFlags.ca, oidcFlags.roleMap)
				if err != nil {
					return &usageError{err}
				}
				oo.Name = oidcFlags.name
				o.API.OIDC = oo
			}
			if threshold != "" {
				t, err := model.ParseSeverity(threshold)
				if err != nil {
					return &usageError{fmt.Errorf("--threshold: %w", err)}
				}
				o.Threshold = t
			}
			if notifyConfig != "" {
				cfg, err := notify.LoadConfig(notifyConfig)
				if err != nil {
					return &usageError{err}
				}
				d, err := notify.New(cfg, notify.Options{Logger: g.logger, StateDir: o.DataDir})
				if err != nil {
					return err
				}
				defer d.Close()
				o.Notifier = d
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := server.Open(ctx, o)
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.Listen(); err != nil {
				return &usageError{err}
			}
			if _, err := os.Stat(filepath.Join(o.DataDir, server.InitialPasswordFile)); err == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "bulwark server: the initial admin password is in %s (log in as admin and replace it; then delete the file)\n",
					filepath.Join(o.DataDir, server.InitialPasswordFile))
			}
			scheme := "http"
			if o.TLSCert != "" {
				scheme = "https"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bulwark server: listening on %s://%s (%s store)\n", scheme, s.Addr(), s.Store.Dialect())
			return s.Serve(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.DataDir, "data-dir", "", "directory of the server's data: the SQLite store, the initial admin password")
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:8443", "address to listen on")
	fl.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate (PEM)")
	fl.StringVar(&o.TLSKey, "tls-key", "", "TLS private key (PEM)")
	fl.BoolVar(&o.InsecureListen, "insecure-listen", false, "allow a non-loopback --listen without TLS (behind a TLS-terminating proxy)")
	fl.StringVar(&o.Database, "database", "", "PostgreSQL URL (postgres://user@host/db); default: SQLite in --data-dir")
	fl.StringVar(&databaseFile, "database-file", "", "`FILE` holding the PostgreSQL URL (a mounted Secret: its password never on the command line)")
	fl.DurationVar(&o.DBUpdateInterval, "db-update-interval", 24*time.Hour, "update the vulnerability DB this often (0: never; the DB in --cache-dir is used as it is)")
	fl.StringSliceVar(&o.DBSources, "db-source", nil, "local feed files or directories for the DB update, or REGISTRY/REPO:TAG of a DB published by \"db push\" (air-gapped); default: the public upstreams")
	fl.StringVar(&dbVerifyKey, "db-verify-key", "", "with --db-source REGISTRY/REPO:TAG: ed25519 public key (PEM) the DB's signature must verify with")
	fl.BoolVar(&o.DBInsecure, "db-insecure", false, "with --db-source REGISTRY/REPO:TAG: plain HTTP / unverified TLS to the registry (loopback may always use HTTP)")
	fl.StringVar(&o.SecretsKeyFile, "secrets-key-file", "", "key sealing registry credentials (default DATA_DIR/secrets.key, created once; replicas share it)")
	fl.DurationVar(&o.Watch.Window, "assessment-window", 30*24*time.Hour, "images pushed, imported or pulled within this window stay under assessment")
	fl.Int64Var(&maxBody, "max-body", 64<<20, "largest request body, in bytes")
	fl.IntVar(&ingestConc, "max-concurrent-ingest", 4, "reports processed at once; more wait")
	fl.StringVar(&oidcFlags.issuer, "oidc-issuer", "", "OpenID Connect provider for single sign-on (its issuer URL)")
	fl.StringVar(&oidcFlags.name, "oidc-name", "", "the provider's name on the console's log-in page (\"Sign in with NAME\"; default: the issuer's host)")
	fl.StringVar(&oidcFlags.clientID, "oidc-client-id", "", "this server's client id at the provider")
	fl.StringVar(&oidcFlags.secretFile, "oidc-client-secret-file", "", "file holding the client secret (never on the command line)")
	fl.StringVar(&oidcFlags.redirect, "oidc-redirect-url", "", "the callback URL registered at the provider: https://THIS-SERVER/api/v1/oidc/callback")
	fl.StringVar(&oidcFlags.roleClaim, "oidc-role-claim", "groups", "ID token or userinfo claim whose values --oidc-role-map maps to roles")
	fl.StringSliceVar(&oidcFlags.roleMap, "oidc-role-map", nil, "claim value=role (reader, analyst, admin), repeatable; the highest role wins")
	fl.StringVar(&oidcFlags.defaultRole, "oidc-default-role", "reader", "role of a user no --oidc-role-map entry matches (none: refuse them)")
	fl.StringVar(&oidcFlags.ca, "oidc-ca", "", "CA certificate (PEM) to trust for the provider")
	fl.StringVar(&threshold, "threshold", "medium", "an image is unhealthy when a finding is at or above this severity: the server's verdicts (check image included) follow it")
	fl.StringVar(&notifyConfig, "notify-config", "", "YAML file of notification sinks (webhook, Slack-compatible, syslog) with their filters (docs/schema.md Notifications)")
	fl.DurationVar(&o.PostureInterval, "posture-interval", 5*time.Second, "how often recommendations, the secure score and due re-matches are brought up to date")
	fl.DurationVar(&o.Retention.History, "retention", 180*24*time.Hour, "keep resolved findings, status changes, ended exemptions and closed alerts this long (0: for ever)")
	fl.DurationVar(&o.Retention.ScoreHistory, "retention-score", 400*24*time.Hour, "keep the daily secure score this long (0: for ever)")
	fl.DurationVar(&o.Retention.AuditLog, "retention-audit", 400*24*time.Hour, "keep the audit trail this long (0: for ever)")
	cmd.AddCommand(newServerBackupCmd())
	return cmd
}

// isRegistryRef tells a registry reference from a local path: it is not a
// file or directory here, and names a registry host and a tag or digest.
func isRegistryRef(s string) bool {
	if _, err := os.Stat(s); err == nil {
		return false
	}
	_, err := name.ParseReference(s, name.StrictValidation)
	return err == nil && strings.Contains(s, "/")
}

// oidcOptions checks the single sign-on flags.
func oidcOptions(issuer, clientID, secretFile, redirect, roleClaim, defaultRole, ca string, roleMap []string) (*api.OIDCOptions, error) {
	if clientID == "" || secretFile == "" || redirect == "" {
		return nil, errors.New("--oidc-issuer needs --oidc-client-id, --oidc-client-secret-file and --oidc-redirect-url")
	}
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	oo := &api.OIDCOptions{Issuer: issuer, ClientID: clientID, ClientSecret: strings.TrimSpace(string(secret)), RedirectURL: redirect,
		RoleClaim: roleClaim, RoleMap: map[string]auth.Role{}}
	if defaultRole != "none" {
		r, err := auth.ParseRole(defaultRole)
		if err != nil {
			return nil, fmt.Errorf("--oidc-default-role: %w", err)
		}
		oo.DefaultRole = r
	}
	for _, m := range roleMap {
		v, role, ok := strings.Cut(m, "=")
		r, err := auth.ParseRole(role)
		if !ok || v == "" || err != nil {
			return nil, fmt.Errorf("--oidc-role-map %q: want VALUE=reader|analyst|admin", m)
		}
		oo.RoleMap[v] = r
	}
	if ca != "" {
		c, err := client.New("https://provider", "", client.Options{CAFile: ca})
		if err != nil {
			return nil, fmt.Errorf("--oidc-ca: %w", err)
		}
		oo.HTTPClient = c.HTTPClient()
	} else {
		oo.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return oo, nil
}

func newServerBackupCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the SQLite store while the server runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				return &usageError{errors.New("--data-dir is required")}
			}
			st, err := store.Open(cmd.Context(), "", dataDir, store.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Backup(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "backup written to %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the server's data directory")
	return cmd
}

func newTokenCmd(g *globalFlags) *cobra.Command {
	t := &cobra.Command{Use: "token", Short: "Manage the server's API tokens"}
	var dataDir, database string
	var in api.TokenRequest
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token in the server's store; prints the token once",
		Long: `Create an API token directly in the server's store (run where the store is:
the server's --data-dir, or its --database). The token is printed once on
stdout; the store keeps only its hash. Scopes: read, ingest, triage, admin, enroll (an agent enrolment token: enroll alone, --expires within 7 days).
--resource binds the token to one cluster or Docker host (by name or id): its
first report pins it to that resource's id, and reports for any other are
refused.`,
		Example: `  bulwark token create --data-dir /var/lib/bulwark --name ci --scope ingest,read --expires 90d
  bulwark token create --data-dir /var/lib/bulwark --name prod-agent --scope ingest --resource cluster/prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" && database == "" {
				return &usageError{errors.New("--data-dir or --database is required")}
			}
			st, err := store.Open(cmd.Context(), database, dataDir, store.Options{Logger: g.logger})
			if err != nil {
				return err
			}
			defer st.Close()
			tok, secret, err := api.CreateToken(cmd.Context(), st, in, "cli", time.Now())
			if errors.Is(err, api.ErrBadInput) {
				return &usageError{err}
			}
			if err != nil {
				return err
			}
			st.Audit(cmd.Context(), store.AuditEntry{Actor: "cli", Action: "token.create", Target: tok.ID, //nolint:errcheck
				Detail: fmt.Sprintf("%s scopes %s binding %q", tok.Name, strings.Join(tok.Scopes, ","), tok.Binding)})
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			exp := "never"
			if !tok.ExpiresAt.IsZero() {
				exp = tok.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%s): scopes %s, expires %s; it is shown only this once\n", tok.ID, tok.Name, strings.Join(tok.Scopes, ","), exp)
			return nil
		},
	}
	fl := create.Flags()
	fl.StringVar(&dataDir, "data-dir", "", "the server's data directory (SQLite store)")
	fl.StringVar(&database, "database", "", "the server's PostgreSQL URL")
	fl.StringVar(&in.Name, "name", "", "what the token is for (ci, prod-agent …)")
	fl.StringVar(&in.Scopes, "scope", "", "scopes, comma-separated: read, ingest, triage, admin, enroll")
	fl.StringVar(&in.Expires, "expires", "never", "lifetime: 90d, 12h, never, or an RFC 3339 time")
	fl.StringVar(&in.Resource, "resource", "", "bind to one cluster or Docker host: cluster/NAME-or-ID, docker-host/NAME-or-ID")
	create.MarkFlagRequired("name")  //nolint:errcheck
	create.MarkFlagRequired("scope") //nolint:errcheck
	t.AddCommand(create)
	return t
}

// serverFlags send a command's report to a server besides writing it.
type serverFlags struct {
	server, token, tokenFile, ca string
}

func (s *serverFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&s.server, "server", "", "also send the report to the Bulwark server at `URL` (https://host:port)")
	fl.StringVar(&s.token, "token", "", "API `TOKEN` for --server (or --token-file, or $BULWARK_TOKEN)")
	fl.StringVar(&s.tokenFile, "token-file", "", "`FILE` holding the API token for --server")
	fl.StringVar(&s.ca, "server-ca", "", "CA certificate `FILE` (PEM) to trust for --server")
}

// client checks the flags before the work starts, so a missing token is a
// usage error at once rather than after a long scan.
func (s *serverFlags) client() (*client.Client, error) {
	if s.server == "" {
		if s.token != "" || s.tokenFile != "" {
			return nil, &usageError{errors.New("--token and --token-file go with --server")}
		}
		return nil, nil
	}
	tok, err := client.TokenFrom(s.token, s.tokenFile)
	if err != nil {
		return nil, &usageError{err}
	}
	c, err := client.New(s.server, tok, client.Options{CAFile: s.ca, UserAgent: "bulwark/" + version})
	if err != nil {
		return nil, &usageError{err}
	}
	return c, nil
}

// send posts the report and says in one line what the server made of it.
func (s *serverFlags) send(ctx context.Context, msgs io.Writer, c *client.Client, kind ingest.Kind, v any) error {
	if c == nil {
		return nil
	}
	res, err := c.PostJSON(ctx, string(kind), v)
	if err != nil {
		return fmt.Errorf("send the report to %s: %w", s.server, err)
	}
	what := "stored"
	if res.Result.Duplicate {
		what = "unchanged since the last report"
	}
	line := fmt.Sprintf("sent to %s: %s %s", s.server, res.Resource, what)
	if res.Summary != nil {
		line += fmt.Sprintf("; server verdict %s (%d findings)", res.Summary.Verdict, res.Summary.Counts.Total)
	}
	fmt.Fprintln(msgs, line)
	return nil
}
