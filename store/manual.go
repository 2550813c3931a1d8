package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/freeze"
)

// Audit actions recorded by the store itself.
const (
	AuditManualFreeze   = "manual_freeze"
	AuditManualUnfreeze = "manual_unfreeze"
	AuditManualEnd      = "manual_end"
)

// ManualFreeze is a stored manual freeze or unfreeze with its end.
type ManualFreeze struct {
	freeze.Manual
	Created   time.Time  `json:"created"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	EndedBy   string     `json:"ended_by,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
}

// AddManual stores a manual freeze or unfreeze and its audit entry (actor:
// the author) in one transaction, and returns its ID. Start must be set;
// Until, when set, must be after Start.
func (s *Store) AddManual(ctx context.Context, m freeze.Manual, at time.Time) (int64, error) {
	switch {
	case strings.TrimSpace(m.Service) == "":
		return 0, errors.New("adding a manual freeze: the service is required")
	case m.Action != freeze.ActionFreeze && m.Action != freeze.ActionUnfreeze:
		return 0, fmt.Errorf("adding a manual freeze: action %q is not freeze or unfreeze", m.Action)
	case strings.TrimSpace(m.Author) == "":
		return 0, errors.New("adding a manual freeze: the author is required")
	case strings.TrimSpace(m.Reason) == "":
		return 0, errors.New("adding a manual freeze: the reason is required")
	case m.Start.IsZero():
		return 0, errors.New("adding a manual freeze: the start time is required")
	case m.Until != nil && !m.Until.After(m.Start):
		return 0, errors.New("adding a manual freeze: the expiry must be after the start")
	}
	var id int64
	err := s.tx(ctx, "adding a manual "+m.Action, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO manual_freezes (service, action, reason, author, start, until, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.Service, m.Action, m.Reason, m.Author, unixNano(m.Start), nullTime(m.Until), unixNano(at))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		action := AuditManualFreeze
		if m.Action == freeze.ActionUnfreeze {
			action = AuditManualUnfreeze
		}
		detail := fmt.Sprintf("#%d: %s", id, m.Reason)
		if m.Until != nil {
			detail += " (until " + m.Until.UTC().Format(time.RFC3339) + ")"
		}
		return insertAudit(ctx, tx, AuditEntry{At: at, Actor: m.Author, Action: action, Service: m.Service, Detail: detail}, at)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// EndRequest ends manual entries: the one with ID, or (ID 0) every open
// entry of Service.
type EndRequest struct {
	ID      int64
	Service string
	By      string
	Reason  string
	At      time.Time
}

// EndManual ends manual entries that are not ended yet, with an audit
// entry each, and returns their IDs; ErrNotFound when there is none.
func (s *Store) EndManual(ctx context.Context, r EndRequest) ([]int64, error) {
	if r.ID == 0 && r.Service == "" {
		return nil, errors.New("ending a manual freeze: an ID or a service is required")
	}
	if strings.TrimSpace(r.By) == "" {
		return nil, errors.New("ending a manual freeze: the actor is required")
	}
	var ended []int64
	err := s.tx(ctx, "ending a manual freeze", func(tx *sql.Tx) error {
		q := `SELECT id, service FROM manual_freezes WHERE ended_at IS NULL AND (until IS NULL OR until > ?)`
		args := []any{unixNano(r.At)}
		if r.ID != 0 {
			q += ` AND id = ?`
			args = append(args, r.ID)
		}
		if r.Service != "" {
			q += ` AND service = ?`
			args = append(args, r.Service)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY id`, args...)
		if err != nil {
			return err
		}
		var services []string
		for rows.Next() {
			var id int64
			var svc string
			if err := rows.Scan(&id, &svc); err != nil {
				rows.Close()
				return err
			}
			ended = append(ended, id)
			services = append(services, svc)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ended) == 0 {
			return ErrNotFound
		}
		for i, id := range ended {
			if _, err := tx.ExecContext(ctx, `UPDATE manual_freezes SET ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?`,
				unixNano(r.At), r.By, r.Reason, id); err != nil {
				return err
			}
			if err := insertAudit(ctx, tx, AuditEntry{At: r.At, Actor: r.By, Action: AuditManualEnd, Service: services[i], Detail: fmt.Sprintf("#%d: %s", id, r.Reason)}, r.At); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// ActiveManual returns the entries neither ended nor expired at now
// (including those starting later), by ID.
func (s *Store) ActiveManual(ctx context.Context, now time.Time) ([]freeze.Manual, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+manualCols+` FROM manual_freezes
		WHERE ended_at IS NULL AND (until IS NULL OR until > ?) ORDER BY id`, unixNano(now))
	if err != nil {
		return nil, fmt.Errorf("reading manual freezes: %w", err)
	}
	defer rows.Close()
	var out []freeze.Manual
	for rows.Next() {
		m, err := scanManual(rows)
		if err != nil {
			return nil, fmt.Errorf("reading manual freezes: %w", err)
		}
		out = append(out, m.Manual)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading manual freezes: %w", err)
	}
	return out, nil
}

// ManualByID returns one manual entry; ErrNotFound when absent.
func (s *Store) ManualByID(ctx context.Context, id int64) (ManualFreeze, error) {
	m, err := scanManual(s.db.QueryRowContext(ctx, `SELECT `+manualCols+` FROM manual_freezes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ManualFreeze{}, fmt.Errorf("manual freeze #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return ManualFreeze{}, fmt.Errorf("reading manual freeze #%d: %w", id, err)
	}
	return m, nil
}

// ManualHistory returns a service's manual entries ("" for all), newest
// first (default 100, at most 10000).
func (s *Store) ManualHistory(ctx context.Context, service string, limit int) ([]ManualFreeze, error) {
	q := `SELECT ` + manualCols + ` FROM manual_freezes`
	var args []any
	if service != "" {
		q += ` WHERE service = ?`
		args = append(args, service)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, clampLimit(limit, 100, 10000))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading manual freezes: %w", err)
	}
	defer rows.Close()
	var out []ManualFreeze
	for rows.Next() {
		m, err := scanManual(rows)
		if err != nil {
			return nil, fmt.Errorf("reading manual freezes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading manual freezes: %w", err)
	}
	return out, nil
}

const manualCols = `id, service, action, reason, author, start, until, created, ended_at, ended_by, end_reason`

func scanManual(sc scanner) (ManualFreeze, error) {
	var m ManualFreeze
	var start, created int64
	var until, endedAt sql.NullInt64
	if err := sc.Scan(&m.ID, &m.Service, &m.Action, &m.Reason, &m.Author, &start, &until, &created, &endedAt, &m.EndedBy, &m.EndReason); err != nil {
		return m, err
	}
	m.Start, m.Until, m.Created, m.EndedAt = fromNano(start), timePtr(until), fromNano(created), timePtr(endedAt)
	return m, nil
}

// AuditEntry is one audited action: a manual API call or an exemption.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Service string    `json:"service"`
	Detail  string    `json:"detail"`
}

// Audit records an entry (At defaults to now).
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return s.tx(ctx, "recording an audit entry", func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, e, time.Now())
	})
}

func insertAudit(ctx context.Context, tx *sql.Tx, e AuditEntry, now time.Time) error {
	if e.Action == "" {
		return errors.New("audit entry without an action")
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, service, detail) VALUES (?, ?, ?, ?, ?)`,
		unixNano(at), e.Actor, e.Action, e.Service, e.Detail); err != nil {
		return fmt.Errorf("recording an audit entry: %w", err)
	}
	return nil
}

// AuditLog returns a service's audit entries ("" for all), newest first
// (default 100, at most 10000).
func (s *Store) AuditLog(ctx context.Context, service string, limit int) ([]AuditEntry, error) {
	q := `SELECT id, at, actor, action, service, detail FROM audit`
	var args []any
	if service != "" {
		q += ` WHERE service = ?`
		args = append(args, service)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(limit, 100, 10000))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Service, &e.Detail); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At = fromNano(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return out, nil
}
