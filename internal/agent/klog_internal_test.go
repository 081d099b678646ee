package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestClientLogSink: client-go's verbosity-4 "Watch closed" for an
// expired watch becomes the agent's clear line; other verbose messages
// are dropped; plain ones keep their fields.
func TestClientLogSink(t *testing.T) {
	expired := apierrors.NewResourceExpired("too old resource version: 5 (9)")
	gone := apierrors.NewGone("gone")
	for _, c := range []struct {
		name  string
		log   func(logr.Logger)
		want  string
		empty bool
	}{
		{"expired", func(l logr.Logger) { l.V(4).Info("Watch closed", "type", "/v1, Resource=pods", "err", expired) }, `cluster agent: watch expired (410 Gone`, false},
		{"gone", func(l logr.Logger) { l.V(4).Info("Watch closed", "err", gone) }, `watch expired (410 Gone`, false},
		{"closed otherwise", func(l logr.Logger) {
			l.V(4).Info("Watch closed", "err", apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"))
		}, "", true},
		{"verbose", func(l logr.Logger) { l.V(2).Info("Watch returned 429 - backing off") }, "", true},
		{"plain", func(l logr.Logger) {
			l.WithValues("reflector", "r").Info("Warning: watch ended with error", "err", errors.New("boom"))
		}, `msg="client-go: Warning: watch ended with error" reflector=r err=boom`, false},
		{"error", func(l logr.Logger) { l.Error(errors.New("bad"), "failed") }, `level=WARN msg="client-go: failed" err=bad`, false},
	} {
		var buf bytes.Buffer
		c.log(logr.New(&klogSink{log: slog.New(slog.NewTextHandler(&buf, nil))}))
		if got := buf.String(); c.empty && got != "" || !c.empty && !strings.Contains(got, c.want) {
			t.Errorf("%s: logged %q, want %q", c.name, got, c.want)
		}
	}
}
