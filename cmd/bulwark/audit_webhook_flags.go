package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
)

// auditWebhookFlags are the flags of the API server's audit webhook
// receiver, the same on `runtime watch` and `agent cluster`.
type auditWebhookFlags struct {
	addr, cert, key, clientCA string
	tokens                    []string
	insecure                  bool
	maxBody                   int64
	maxConc                   int
}

func (f *auditWebhookFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.addr, "audit-webhook", "", "serve the API server's audit webhook backend on this address (host:port), TLS with --audit-cert/--audit-key")
	fl.StringVar(&f.cert, "audit-cert", "", "TLS certificate (PEM) of the audit webhook receiver")
	fl.StringVar(&f.key, "audit-key", "", "TLS key (PEM) of the audit webhook receiver")
	fl.StringVar(&f.clientCA, "audit-client-ca", "", "CA (PEM) of client certificates the audit webhook accepts instead of a token")
	fl.StringArrayVar(&f.tokens, "audit-token", nil, "bearer token the audit webhook accepts (repeatable; a value @FILE reads it from FILE)")
	fl.BoolVar(&f.insecure, "audit-insecure", false, "let the audit webhook serve without TLS or without an authenticator, on a loopback address only (tests, a local API server)")
	fl.Int64Var(&f.maxBody, "audit-max-body", k8saudit.DefaultMaxBodyBytes, "largest audit webhook batch in bytes (the API server's --audit-webhook-truncate-max-batch-size); larger ones are answered 413 and counted")
	fl.IntVar(&f.maxConc, "audit-max-concurrent", k8saudit.DefaultMaxConcurrent, "audit webhook requests served at once; more are answered 429 (retried by the API server) and counted")
}

// options checks the flags; nil without --audit-webhook.
func (f *auditWebhookFlags) options() (*k8saudit.WebhookOptions, error) {
	if f.addr == "" {
		if f.cert != "" || f.key != "" || len(f.tokens) > 0 || f.clientCA != "" || f.insecure {
			return nil, &usageError{errors.New("--audit-cert, --audit-key, --audit-token, --audit-client-ca and --audit-insecure need --audit-webhook")}
		}
		return nil, nil
	}
	if (f.cert == "") != (f.key == "") {
		return nil, &usageError{errors.New("--audit-cert and --audit-key go together")}
	}
	tokens := make([]string, 0, len(f.tokens))
	for _, tok := range f.tokens {
		if file, ok := strings.CutPrefix(tok, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("reading audit webhook token: %w", err)
			}
			tok = strings.TrimSpace(string(b))
		}
		if tok == "" {
			return nil, &usageError{errors.New("--audit-token: empty token")}
		}
		tokens = append(tokens, tok)
	}
	return &k8saudit.WebhookOptions{Addr: f.addr, CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.clientCA, Tokens: tokens,
		Insecure: f.insecure, MaxBodyBytes: f.maxBody, MaxConcurrent: f.maxConc}, nil
}
