package agent_test

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/store"
)

func openStore(t *testing.T, dataDir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
