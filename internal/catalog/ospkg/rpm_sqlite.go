package ospkg

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var sqliteMagic = []byte("SQLite format 3\x00")

// readSQLite reads the blob column of the Packages table. SQLite needs a
// file, so the bytes go to a temporary one, opened read-only and immutable
// so that no -wal/-shm files are created and no journal is replayed.
func readSQLite(ctx context.Context, data []byte) (blobs [][]byte, err error) {
	if !bytes.HasPrefix(data, sqliteMagic) {
		return nil, fmt.Errorf("sqlite: %w: no SQLite header", errNotRPMDB)
	}
	tmp, err := os.CreateTemp("", "bulwark-rpmdb-*.sqlite")
	if err != nil {
		return nil, fmt.Errorf("sqlite: create temporary copy: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("sqlite: write temporary copy: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: write temporary copy: %w", err)
	}
	// The sqlite engine is C translated to Go; a corrupt file must not take
	// the scan down with it.
	defer func() {
		if r := recover(); r != nil {
			blobs, err = nil, fmt.Errorf("sqlite: reader panicked on corrupt database: %v", r)
		}
	}()
	dsn := (&url.URL{Scheme: "file", Path: tmp.Name(), RawQuery: "mode=ro&immutable=1"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return nil, fmt.Errorf("sqlite: query Packages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: read Packages row: %w", err)
		}
		blobs = append(blobs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read Packages: %w", err)
	}
	return blobs, nil
}
