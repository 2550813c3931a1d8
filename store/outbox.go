package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const outboxCols = `id, key, channel, service, episode, kind, payload, created, next_attempt, attempts, sent_at, last_error, permanent_failure`

// DueOutbox returns up to limit (default 100) notifications not sent, not
// failed for good and due at now, oldest first.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE sent_at IS NULL AND permanent_failure = 0 AND next_attempt <= ?
		ORDER BY id LIMIT ?`, unixNano(now), clampLimit(limit, 100, 10000))
	if err != nil {
		return nil, fmt.Errorf("reading the notification outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the notification outbox: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the notification outbox: %w", err)
	}
	return out, nil
}

// OutboxItemByID returns one notification; ErrNotFound when absent.
func (s *Store) OutboxItemByID(ctx context.Context, id int64) (OutboxItem, error) {
	it, err := scanOutbox(s.db.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("notification %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("reading notification %d: %w", id, err)
	}
	return it, nil
}

func scanOutbox(sc scanner) (OutboxItem, error) {
	var it OutboxItem
	var created, next int64
	var sent sql.NullInt64
	if err := sc.Scan(&it.ID, &it.Key, &it.Channel, &it.Service, &it.Episode, &it.Kind, &it.Payload, &created, &next, &it.Attempts, &sent, &it.LastError, &it.PermanentFailure); err != nil {
		return it, err
	}
	it.Created, it.NextAttempt, it.SentAt = fromNano(created), fromNano(next), timePtr(sent)
	return it, nil
}

// MarkSent records a delivery at at; a non-empty receipt (a Slack message
// ts, a PagerDuty dedup key) is stored for the item's service, episode and
// channel in the same transaction.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time, receipt string) error {
	return s.tx(ctx, fmt.Sprintf("marking notification %d sent", id), func(tx *sql.Tx) error {
		var svc, ep, ch string
		err := tx.QueryRowContext(ctx, `SELECT service, episode, channel FROM outbox WHERE id = ?`, id).Scan(&svc, &ep, &ch)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, unixNano(at), id); err != nil {
			return err
		}
		if receipt != "" {
			return putReceipt(ctx, tx, svc, ep, ch, receipt, at)
		}
		return nil
	})
}

// MarkRetry records a failed attempt and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id int64, nextAttempt time.Time, errText string) error {
	return s.update(ctx, fmt.Sprintf("scheduling a retry of notification %d", id),
		`UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`, unixNano(nextAttempt), errText, id)
}

// MarkPermanentFailure records a failure that retrying cannot fix (the
// item is no longer due).
func (s *Store) MarkPermanentFailure(ctx context.Context, id int64, errText string) error {
	return s.update(ctx, fmt.Sprintf("marking notification %d failed", id),
		`UPDATE outbox SET attempts = attempts + 1, permanent_failure = 1, last_error = ? WHERE id = ?`, errText, id)
}

func (s *Store) update(ctx context.Context, what, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// OutboxStats counts the notifications waiting (not sent, not failed) and
// those failed for good.
func (s *Store) OutboxStats(ctx context.Context) (pending, failed int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN sent_at IS NULL AND permanent_failure = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(permanent_failure), 0) FROM outbox`).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("counting notifications: %w", err)
	}
	return pending, failed, nil
}

// PruneOutbox deletes notifications sent or failed for good before
// before, and returns how many. Their keys are forgotten: prune only what
// no evaluation can produce again (older than any ongoing episode).
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM outbox WHERE (sent_at IS NOT NULL AND sent_at < ?) OR (permanent_failure = 1 AND created < ?)`,
		unixNano(before), unixNano(before))
	if err != nil {
		return 0, fmt.Errorf("pruning the notification outbox: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning the notification outbox: %w", err)
	}
	return n, nil
}

// Receipt returns the receipt a channel stored for a service's episode.
func (s *Store) Receipt(ctx context.Context, service, episode, channel string) (string, bool, error) {
	var r string
	err := s.db.QueryRowContext(ctx, `SELECT receipt FROM receipts WHERE service = ? AND episode = ? AND channel = ?`, service, episode, channel).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the %s receipt of %s/%s: %w", channel, service, episode, err)
	}
	return r, true, nil
}

// SetReceipt stores (or replaces) a channel's receipt for a service's episode.
func (s *Store) SetReceipt(ctx context.Context, service, episode, channel, receipt string, at time.Time) error {
	return s.tx(ctx, fmt.Sprintf("storing the %s receipt of %s/%s", channel, service, episode), func(tx *sql.Tx) error {
		return putReceipt(ctx, tx, service, episode, channel, receipt, at)
	})
}

func putReceipt(ctx context.Context, tx *sql.Tx, service, episode, channel, receipt string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO receipts (service, episode, channel, receipt, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (service, episode, channel) DO UPDATE SET receipt = excluded.receipt, updated = excluded.updated`,
		service, episode, channel, receipt, unixNano(at))
	return err
}
