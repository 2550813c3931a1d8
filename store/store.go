// Package store keeps the freeze engine's state in an embedded SQLite
// database (modernc.org/sqlite, pure Go): the current state of every
// service, the history of every decision, manual freezes, the audit log of
// the manual API, and the notification outbox with its receipts. The
// database is one file (with its WAL) under the daemon's storage path; it
// survives restarts, and one transaction stores an evaluation's states,
// decisions and notifications, so that a crash neither loses nor
// duplicates a notification.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// FileName is the database's file name under the storage path.
const FileName = "slokeeper.db"

// ErrNotFound is returned when the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// BusyTimeout is how long a statement waits for another writer.
const BusyTimeout = 10 * time.Second

// Store is the database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// beforeCommit, when set (tests), runs inside Commit's transaction
	// just before it commits.
	beforeCommit func() error
}

// Open opens (creating it if needed) the database file at path and
// migrates it to the current schema. A directory path gets FileName in it.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("opening the state database: empty path")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileName)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening the state database: path %q must not contain ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("opening the state database: %w", err)
	}
	dsn := path + fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate", BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the state database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the state database %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := migrate(ctx, db, len(migrations)); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating the state database %s: %w", path, err)
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing the state database: %w", err)
	}
	return nil
}

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: starting a transaction: %w", what, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: committing: %w", what, err)
	}
	return nil
}

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNano(n.Int64)
	return &t
}

func clampLimit(n, def, maxN int) int {
	switch {
	case n <= 0:
		return def
	case n > maxN:
		return maxN
	}
	return n
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }
