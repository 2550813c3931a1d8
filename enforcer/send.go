package enforcer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/store"
)

// sendLoop delivers the due outbox items when woken and every second.
func (e *Enforcer) sendLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := e.Deliver(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("delivering notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wakeSend:
		case <-tick.C:
		}
	}
}

// Deliver sends every due notification once. A notifier's answer decides:
// sent (the receipt is stored with the item), retried later (429, 5xx,
// timeouts: with the server's Retry-After or an exponential backoff), or
// failed for good (other 4xx, a bad payload). Items are delivered in the
// order they were recorded, and an episode's items one after the other
// per notifier, so that a lift never overtakes its freeze.
func (e *Enforcer) Deliver(ctx context.Context) error {
	byName := map[string]notify.Notifier{}
	for _, n := range e.opts.Notifiers {
		byName[n.Name()] = n
	}
	// Every pending item, due or not, in the order recorded: an item
	// waiting for its retry holds back the later items of its lane (one
	// notifier, one episode), so that a lift never overtakes its freeze.
	far := e.now().Add(100 * 365 * 24 * time.Hour)
	items, err := e.st.DueOutbox(ctx, far, 10000)
	if err != nil {
		return err
	}
	blocked := map[string]bool{}
	for _, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lane := it.Channel + "\x00" + it.Episode
		if blocked[lane] {
			continue
		}
		if it.NextAttempt.After(e.now()) {
			blocked[lane] = true
			continue
		}
		n, ok := byName[it.Channel]
		if !ok {
			// A notifier removed from the configuration: its items stay
			// until it comes back, but are not retried in a loop.
			_ = e.st.MarkRetry(ctx, it.ID, e.now().Add(time.Hour), "no notifier named "+it.Channel+" is configured")
			blocked[lane] = true
			continue
		}
		if !e.deliverOne(ctx, n, it) {
			blocked[lane] = true
		}
	}
	pending, _, err := e.st.OutboxStats(ctx)
	if err == nil {
		e.m.pending.Set(float64(pending))
	}
	return err
}

// deliverOne sends one item and records the outcome; it says whether the
// item is done (sent or failed for good).
func (e *Enforcer) deliverOne(ctx context.Context, n notify.Notifier, it store.OutboxItem) bool {
	var m notify.Message
	if err := json.Unmarshal(it.Payload, &m); err != nil {
		e.fail(ctx, it, fmt.Errorf("decoding the stored notification: %w", err))
		return true
	}
	var prior notify.Receipt
	if raw, ok, err := e.st.Receipt(ctx, it.Service, it.Episode, it.Channel); err != nil {
		e.retry(ctx, it, err, 0)
		return false
	} else if ok {
		_ = json.Unmarshal([]byte(raw), &prior)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	rec, err := n.Send(sctx, m, prior)
	cancel()
	if err != nil {
		if notify.IsPermanent(err) {
			e.fail(ctx, it, err)
			return true
		}
		after, _ := notify.RetryAfter(err)
		e.retry(ctx, it, err, after)
		return false
	}
	raw := ""
	if len(rec) > 0 {
		b, _ := json.Marshal(rec)
		raw = string(b)
	}
	if err := e.st.MarkSent(ctx, it.ID, e.now(), raw); err != nil {
		// Sent but not marked: the next attempt finds it already delivered
		// (Slack metadata, PagerDuty dedup key, the file's keys).
		e.log.Warn("a notification was sent but could not be marked", "key", it.Key, "channel", it.Channel, "err", err)
		return false
	}
	e.m.sent.WithLabelValues(it.Channel).Inc()
	e.log.Info("notification sent", "channel", it.Channel, "kind", it.Kind, "service", it.Service, "key", it.Key)
	return true
}

func (e *Enforcer) fail(ctx context.Context, it store.OutboxItem, err error) {
	e.m.failed.WithLabelValues(it.Channel, "permanent").Inc()
	e.log.Error("notification failed and will not be retried", "channel", it.Channel, "kind", it.Kind, "service", it.Service, "key", it.Key, "err", err)
	if merr := e.st.MarkPermanentFailure(ctx, it.ID, err.Error()); merr != nil {
		e.log.Warn("recording a failed notification", "err", errors.Join(err, merr))
	}
}

func (e *Enforcer) retry(ctx context.Context, it store.OutboxItem, err error, after time.Duration) {
	e.m.failed.WithLabelValues(it.Channel, "retry").Inc()
	delay := notify.Backoff(it.Attempts + 1)
	if after > 0 {
		delay = after
	}
	e.log.Warn("notification failed; retrying", "channel", it.Channel, "kind", it.Kind, "service", it.Service, "in", delay.Round(time.Millisecond), "err", err)
	if merr := e.st.MarkRetry(ctx, it.ID, e.now().Add(delay), err.Error()); merr != nil {
		e.log.Warn("scheduling a notification retry", "err", merr)
	}
}
