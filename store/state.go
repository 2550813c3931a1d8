package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slokeeper/slokeeper/freeze"
)

// OutboxItem is one notification to deliver on one channel (a notifier:
// slack, pagerduty, file...). Key and Channel identify it: committing the
// same pair again is a no-op.
type OutboxItem struct {
	ID      int64
	Key     string
	Channel string
	Service string
	Episode string
	Kind    string
	Payload []byte
	// Created defaults to the commit time; NextAttempt defaults to Created.
	Created          time.Time
	NextAttempt      time.Time
	Attempts         int
	SentAt           *time.Time
	LastError        string
	PermanentFailure bool
}

// Commit stores, in one transaction, the states of an evaluation, a
// decision row per event and the outbox items. next is the complete set of
// states, as freeze.Evaluate returns it: services absent from it are
// removed; nil leaves the states untouched. Events and outbox items whose
// key was committed before are ignored, so committing the same evaluation
// twice changes nothing.
func (s *Store) Commit(ctx context.Context, next map[string]freeze.State, events []freeze.Event, outbox []OutboxItem) error {
	now := time.Now()
	for _, it := range outbox {
		if it.Key == "" || it.Channel == "" {
			return errors.New("committing the freeze state: outbox items need a key and a channel")
		}
	}
	for _, e := range events {
		if e.Key == "" {
			return errors.New("committing the freeze state: events need a key")
		}
	}
	return s.tx(ctx, "committing the freeze state", func(tx *sql.Tx) error {
		if next != nil {
			if err := putStates(ctx, tx, next, now); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := insertDecision(ctx, tx, e); err != nil {
				return err
			}
		}
		for _, it := range outbox {
			if err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		if s.beforeCommit != nil {
			return s.beforeCommit()
		}
		return nil
	})
}

func putStates(ctx context.Context, tx *sql.Tx, next map[string]freeze.State, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT service FROM freeze_state`)
	if err != nil {
		return fmt.Errorf("reading states: %w", err)
	}
	var gone []string
	for rows.Next() {
		var svc string
		if err := rows.Scan(&svc); err != nil {
			rows.Close()
			return fmt.Errorf("reading states: %w", err)
		}
		if _, ok := next[svc]; !ok {
			gone = append(gone, svc)
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("reading states: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading states: %w", err)
	}
	for _, svc := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM freeze_state WHERE service = ?`, svc); err != nil {
			return fmt.Errorf("removing the state of %s: %w", svc, err)
		}
	}
	for svc, st := range next {
		raw, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encoding the state of %s: %w", svc, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO freeze_state (service, frozen, state, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (service) DO UPDATE SET frozen = excluded.frozen, state = excluded.state, updated = excluded.updated`,
			svc, st.Frozen, string(raw), unixNano(now)); err != nil {
			return fmt.Errorf("storing the state of %s: %w", svc, err)
		}
	}
	return nil
}

func insertDecision(ctx context.Context, tx *sql.Tx, e freeze.Event) error {
	sources, err := json.Marshal(nonNil(e.Sources))
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", e.Key, err)
	}
	reasons, err := json.Marshal(nonNil(e.Reasons))
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", e.Key, err)
	}
	budget := e.State.Budget
	if budget == nil {
		budget = map[string]float64{}
	}
	bj, err := json.Marshal(budget)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", e.Key, err)
	}
	ej, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", e.Key, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO decisions
		(at, service, kind, episode, event_key, frozen, sources, reasons, budget, event)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		unixNano(e.At), e.Service, e.Kind, e.Episode, e.Key, e.State.Frozen, string(sources), string(reasons), string(bj), string(ej)); err != nil {
		return fmt.Errorf("recording event %s: %w", e.Key, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func insertOutbox(ctx context.Context, tx *sql.Tx, it OutboxItem, now time.Time) error {
	created := it.Created
	if created.IsZero() {
		created = now
	}
	next := it.NextAttempt
	if next.IsZero() {
		next = created
	}
	payload := it.Payload
	if payload == nil {
		payload = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO outbox
		(key, channel, service, episode, kind, payload, created, next_attempt)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		it.Key, it.Channel, it.Service, it.Episode, it.Kind, payload, unixNano(created), unixNano(next)); err != nil {
		return fmt.Errorf("queueing notification %s for %s: %w", it.Key, it.Channel, err)
	}
	return nil
}

// RecordEvent stores one event that is not the result of an evaluation
// (an exemption used at the gate) with its audit entry and notifications,
// in one transaction; a key recorded before is ignored (and so are its
// audit entry and notifications). It says whether the event was new.
func (s *Store) RecordEvent(ctx context.Context, e freeze.Event, audit AuditEntry, outbox []OutboxItem) (bool, error) {
	if e.Key == "" {
		return false, errors.New("recording an event: empty key")
	}
	now := time.Now()
	fresh := false
	err := s.tx(ctx, "recording event "+e.Key, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM decisions WHERE event_key = ?`, e.Key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		fresh = true
		if err := insertDecision(ctx, tx, e); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, audit, now); err != nil {
			return err
		}
		for _, it := range outbox {
			if it.Key == "" || it.Channel == "" {
				return errors.New("outbox items need a key and a channel")
			}
			if err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		return nil
	})
	return fresh, err
}

// States returns the stored state of every service.
func (s *Store) States(ctx context.Context) (map[string]freeze.State, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT service, state FROM freeze_state`)
	if err != nil {
		return nil, fmt.Errorf("reading freeze states: %w", err)
	}
	defer rows.Close()
	out := map[string]freeze.State{}
	for rows.Next() {
		var svc, raw string
		if err := rows.Scan(&svc, &raw); err != nil {
			return nil, fmt.Errorf("reading freeze states: %w", err)
		}
		var st freeze.State
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, fmt.Errorf("decoding the freeze state of %s: %w", svc, err)
		}
		out[svc] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading freeze states: %w", err)
	}
	return out, nil
}

// HistoryEntry is one recorded decision.
type HistoryEntry struct {
	ID      int64              `json:"id"`
	At      time.Time          `json:"at"`
	Service string             `json:"service"`
	Kind    string             `json:"kind"`
	Episode string             `json:"episode"`
	Key     string             `json:"key"`
	Frozen  bool               `json:"frozen"`
	Sources []string           `json:"sources"`
	Reasons []string           `json:"reasons"`
	Budget  map[string]float64 `json:"budget"`
	Event   freeze.Event       `json:"-"`
}

// HistoryQuery selects decisions: of one service ("" for all), at or
// after Since and before Until (zero: unbounded), the newest Limit
// (default 100, at most 10000).
type HistoryQuery struct {
	Service      string
	Since, Until time.Time
	Limit        int
}

// History returns decisions, newest first.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistoryEntry, error) {
	query := `SELECT id, at, service, kind, episode, event_key, frozen, sources, reasons, budget, event FROM decisions WHERE 1 = 1`
	var args []any
	if q.Service != "" {
		query += ` AND service = ?`
		args = append(args, q.Service)
	}
	if !q.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, unixNano(q.Since))
	}
	if !q.Until.IsZero() {
		query += ` AND at < ?`
		args = append(args, unixNano(q.Until))
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(q.Limit, 100, 10000))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the freeze history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var at int64
		var sources, reasons, budget, event string
		if err := rows.Scan(&h.ID, &at, &h.Service, &h.Kind, &h.Episode, &h.Key, &h.Frozen, &sources, &reasons, &budget, &event); err != nil {
			return nil, fmt.Errorf("reading the freeze history: %w", err)
		}
		h.At = fromNano(at)
		for _, f := range []struct {
			raw string
			dst any
		}{{sources, &h.Sources}, {reasons, &h.Reasons}, {budget, &h.Budget}, {event, &h.Event}} {
			if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
				return nil, fmt.Errorf("decoding decision %d: %w", h.ID, err)
			}
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the freeze history: %w", err)
	}
	return out, nil
}
