// Package store keeps what every capability reports: the inventory of
// resources, image inventories and their findings, assessments, alerts, and
// the server's users, sessions and tokens.
//
// One implementation serves SQLite (modernc, pure Go; the default, one file)
// and PostgreSQL (pgx; for teams and replicas): the SQL is written once with
// `?` placeholders and upserts both engines share (ON CONFLICT … DO UPDATE),
// and the schema is one set of goose migrations rendered per dialect. So the
// contract tests that run against both test one code path, and there is no
// second implementation to drift. No state lives in process memory: several
// replicas may share one PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Dialect is the SQL engine behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned for a missing row.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a row with the same key exists.
var ErrConflict = errors.New("already exists")

// Store is the persistence of the server.
type Store struct {
	// writeMu queues SQLite's writers in the process: SQLite takes one
	// writer at a time anyway, and waiting here is a handoff where waiting
	// on its busy handler is sleep-and-retry.
	writeMu sync.Mutex
	db      *sql.DB
	dialect Dialect
	path    string // SQLite file
	dsn     string // SQLite data source (the job queue opens its own pool)
	log     *slog.Logger
	now     func() time.Time
	// jobs are the in-process locks of named background jobs (SQLite).
	jobsMu sync.Mutex
	jobs   map[string]*sync.Mutex
}

func (s *Store) jobLock(name string) *sync.Mutex {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]*sync.Mutex{}
	}
	if s.jobs[name] == nil {
		s.jobs[name] = &sync.Mutex{}
	}
	return s.jobs[name]
}

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // a clock tests can move
}

// FileName is the SQLite store's file in the data directory.
const FileName = "bulwark.db"

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating and migrating) a store: a postgres:// or
// postgresql:// URL, or else a data directory holding the SQLite file.
func Open(ctx context.Context, database, dataDir string, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{log: o.Logger, now: o.Now}
	var err error
	switch {
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", database)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(16)
		s.db.SetMaxIdleConns(8)
	case database == "" || database == "sqlite":
		if dataDir == "" {
			return nil, errors.New("open store: no data directory and no --database")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		s.dialect = SQLite
		s.path = filepath.Join(dataDir, FileName)
		// WAL lets readers go on while one writer writes; immediate
		// transactions take the write lock up front, so two writers queue on
		// busy_timeout instead of failing on a lock upgrade.
		dsn := "file:" + s.path + "?_pragma=page_size(8192)&_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16000)&_txlock=immediate"
		s.dsn = dsn
		s.db, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", s.path, err)
		}
		s.db.SetMaxOpenConns(4)
	default:
		return nil, fmt.Errorf("open store: --database must be a postgres:// URL (got %q)", redactDSN(database))
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to %s store: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// redactDSN keeps a password out of error messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			return dsn[:j+3] + "…@" + dsn[i+1:]
		}
	}
	return dsn
}

// Dialect says which engine the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the underlying handle (for the job queue and advisory locks).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the store answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// migrationsFS renders the migrations for a dialect: the few types the two
// engines spell differently are placeholders in the SQL.
func migrationsFS(d Dialect) (fs.FS, error) {
	repl := map[Dialect]*strings.Replacer{
		SQLite:   strings.NewReplacer("{{blob}}", "BLOB", "{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{without_rowid}}", "WITHOUT ROWID"),
		Postgres: strings.NewReplacer("{{blob}}", "BYTEA", "{{serial}}", "BIGSERIAL PRIMARY KEY", "{{without_rowid}}", ""),
	}[d]
	out := fstest.MapFS{}
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = &fstest.MapFile{Data: []byte(repl.Replace(string(b))), Mode: 0o444}
	}
	return out, nil
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := migrationsFS(s.dialect)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.db, fsys)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if s.dialect == Postgres {
		// Replicas starting together must not migrate twice.
		if _, err := s.db.ExecContext(ctx, `SELECT pg_advisory_lock(7305411)`); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		defer s.db.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7305411)`) //nolint:errcheck
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s store: %w", s.dialect, err)
	}
	for _, r := range res {
		s.log.Info("store migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		if r.Source.Version == aliasesMigration {
			if err := s.backfillAliases(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// SchemaVersion is the store's migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id),0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

// q rewrites `?` placeholders as `$n` for PostgreSQL. Queries hold no `?`
// inside literals.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, x execer, query string, args ...any) (sql.Result, error) {
	return x.ExecContext(ctx, s.q(query), args...)
}

// write runs one statement outside a transaction; on SQLite it queues
// behind the other writers like a transaction does.
func (s *Store) write(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return s.db.ExecContext(ctx, s.q(query), args...)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx runs f in one transaction.
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback() //nolint:errcheck
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Backup writes a consistent copy of the SQLite store to path (VACUUM INTO:
// readers and writers go on meanwhile). PostgreSQL is backed up with its
// own tools (pg_dump).
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return errors.New("backup: the PostgreSQL store is backed up with pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s exists; name a new file", path)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}

// Meta reads a key of the meta table ("" when absent).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM meta WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetMeta writes a key of the meta table.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.write(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
