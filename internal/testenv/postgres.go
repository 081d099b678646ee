package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultPostgres is where .ci/run starts its PostgreSQL cluster
// (pg_createcluster on a loopback port, trust authentication on loopback).
const DefaultPostgres = "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"

// Postgres returns the URL of a new, empty database in the PostgreSQL
// cluster named by $BULWARK_TEST_POSTGRES (default DefaultPostgres),
// dropped when the test ends; or skips. Tests create databases, not
// clusters: PostgreSQL refuses to run as root.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("BULWARK_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		skipf(t, "needs PostgreSQL at %s ($BULWARK_TEST_POSTGRES): %v", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		skipf(t, "needs PostgreSQL at %s ($BULWARK_TEST_POSTGRES; .ci/run starts one with pg_createcluster): %v", base, err)
	}
	name := fmt.Sprintf("bwtest_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	u.Path = "/" + strings.TrimPrefix(name, "/")
	return u.String()
}
