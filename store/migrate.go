package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema versions, in order: migrations[i] takes the
// schema from version i to i+1. They are never edited once released: a
// change is a new migration.
var migrations = []string{
	// 1: states, decisions, manual freezes, audit.
	`CREATE TABLE freeze_state (
		service TEXT PRIMARY KEY,
		frozen  INTEGER NOT NULL,
		state   TEXT NOT NULL,    -- freeze.State as JSON
		updated INTEGER NOT NULL  -- unix ns
	);
	CREATE TABLE decisions (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		at        INTEGER NOT NULL,
		service   TEXT NOT NULL,
		kind      TEXT NOT NULL,
		episode   TEXT NOT NULL,
		event_key TEXT NOT NULL UNIQUE,
		frozen    INTEGER NOT NULL,
		sources   TEXT NOT NULL,  -- JSON list
		reasons   TEXT NOT NULL,  -- JSON list
		budget    TEXT NOT NULL,  -- JSON object: SLO -> remaining ratio
		event     TEXT NOT NULL   -- freeze.Event as JSON
	);
	CREATE INDEX decisions_service_at ON decisions (service, at);
	CREATE INDEX decisions_at ON decisions (at);
	CREATE TABLE manual_freezes (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		service    TEXT NOT NULL,
		action     TEXT NOT NULL,
		reason     TEXT NOT NULL,
		author     TEXT NOT NULL,
		start      INTEGER NOT NULL,
		until      INTEGER,
		created    INTEGER NOT NULL,
		ended_at   INTEGER,
		ended_by   TEXT NOT NULL DEFAULT '',
		end_reason TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX manual_freezes_open ON manual_freezes (ended_at, service);
	CREATE TABLE audit (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		at      INTEGER NOT NULL,
		actor   TEXT NOT NULL,
		action  TEXT NOT NULL,
		service TEXT NOT NULL,
		detail  TEXT NOT NULL
	);
	CREATE INDEX audit_service_at ON audit (service, at);`,

	// 2: the notification outbox and delivery receipts.
	`CREATE TABLE outbox (
		id                INTEGER PRIMARY KEY AUTOINCREMENT,
		key               TEXT NOT NULL,
		channel           TEXT NOT NULL,
		service           TEXT NOT NULL,
		episode           TEXT NOT NULL,
		kind              TEXT NOT NULL,
		payload           BLOB NOT NULL,
		created           INTEGER NOT NULL,
		attempts          INTEGER NOT NULL DEFAULT 0,
		next_attempt      INTEGER NOT NULL,
		sent_at           INTEGER,
		last_error        TEXT NOT NULL DEFAULT '',
		permanent_failure INTEGER NOT NULL DEFAULT 0,
		UNIQUE (key, channel)
	);
	CREATE INDEX outbox_due ON outbox (sent_at, permanent_failure, next_attempt);
	CREATE TABLE receipts (
		service TEXT NOT NULL,
		episode TEXT NOT NULL,
		channel TEXT NOT NULL,
		receipt TEXT NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY (service, episode, channel)
	);`,
}

// SchemaVersion is the schema version this code writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema to version target, one transaction per
// migration, recording each in schema_migrations.
func migrate(ctx context.Context, db *sql.DB, target int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for v := 1; v <= target; v++ {
		if _, err := applyMigration(ctx, db, v); err != nil {
			return err
		}
	}
	var latest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if latest.Valid && int(latest.Int64) > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this slokeeper's %d: upgrade slokeeper", latest.Int64, len(migrations))
	}
	return nil
}

// applyMigration applies migration v unless it already is; the check runs
// inside the (immediate, hence exclusive) transaction, so two processes
// opening the same file do not both apply it.
func applyMigration(ctx context.Context, db *sql.DB, v int) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %d: starting a transaction: %w", v, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %d: %w", v, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
		return false, fmt.Errorf("migration %d: %w", v, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("migration %d: recording it: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: committing: %w", v, err)
	}
	return true, nil
}

// Version is the database's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return int(v.Int64), nil
}
