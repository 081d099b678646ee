// Package servertest runs a real Bulwark server on a loopback port for the
// tests of the packages that talk to one (the CLI, the agents, the console):
// one way to start it and to stop it at the test's end, instead of a copy
// in each package.
package servertest

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/server"
)

// Start opens a server with o (Listen defaults to 127.0.0.1:0), serves it
// until the test ends, and returns it with its base URL. At the end the
// server is stopped and closed; an error from Serve fails the test.
func Start(t testing.TB, o server.Options) (*server.Server, string) {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Open(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("open the server: %v", err)
	}
	if _, err := s.Listen(); err != nil {
		cancel()
		s.Close()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	return s, "http://" + s.Addr()
}
