package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/freeze"
)

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func f(v float64) *float64 { return &v }

// evaluation returns a freeze evaluation of checkout with its budget at v.
func evaluation(prev map[string]freeze.State, now time.Time, v float64) (map[string]freeze.State, []freeze.Event) {
	pol := map[string]freeze.Policy{"checkout": freeze.NewPolicy("standard")}
	return freeze.Evaluate(pol, prev, freeze.Input{Now: now, BudgetsFresh: true,
		SLOs: []freeze.SLOStatus{{Service: "checkout", SLO: "availability", BudgetRemaining: f(v)}}})
}

func outboxFor(events []freeze.Event, channels ...string) []OutboxItem {
	var out []OutboxItem
	for _, e := range events {
		for _, ch := range channels {
			out = append(out, OutboxItem{Key: e.Key, Channel: ch, Service: e.Service, Episode: e.Episode, Kind: e.Kind, Payload: []byte(e.Kind), Created: e.At})
		}
	}
	return out
}

func TestCommitSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, dir)
	if s.Path() != filepath.Join(dir, FileName) {
		t.Errorf("path = %s", s.Path())
	}
	next, evs := evaluation(nil, t0, -0.1)
	if len(evs) != 1 {
		t.Fatalf("events: %v", evs)
	}
	if err := s.Commit(ctx, next, evs, outboxFor(evs, "slack", "pagerduty")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, filepath.Join(dir, FileName))
	states, err := s2.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := states["checkout"]
	if !st.Frozen || !st.Since.Equal(t0) || st.Episode != next["checkout"].Episode || st.Budget["availability"] != -0.1 {
		t.Errorf("state after reopening = %+v", st)
	}
	// The daemon restarts: the same data evaluated on the loaded states
	// gives no event, hence no notification twice.
	again, evs2 := evaluation(states, t0.Add(time.Minute), -0.1)
	if len(evs2) != 0 {
		t.Errorf("events after restart: %v", evs2)
	}
	if err := s2.Commit(ctx, again, evs2, nil); err != nil {
		t.Fatal(err)
	}
	due, err := s2.DueOutbox(ctx, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].Channel != "slack" || due[1].Channel != "pagerduty" || string(due[0].Payload) != freeze.KindFreezeStarted {
		t.Errorf("due = %+v", due)
	}
	v, err := s2.Version(ctx)
	if err != nil || v != SchemaVersion() {
		t.Errorf("version = %d, %v", v, err)
	}
}

func TestCommitRemovesDroppedServices(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db", "state.db"))
	ctx := t.Context()
	a := map[string]freeze.State{"a": {Service: "a"}, "b": {Service: "b", Frozen: true}}
	if err := s.Commit(ctx, a, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, map[string]freeze.State{"b": {Service: "b"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["b"].Frozen {
		t.Errorf("states = %+v", got)
	}
}

func TestOutboxIdempotency(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	next, evs := evaluation(nil, t0, -0.1)
	items := outboxFor(evs, "slack")
	for range 3 {
		if err := s.Commit(ctx, next, evs, items); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueOutbox(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 {
		t.Fatalf("due = %d items, want 1", len(due))
	}
	h, err := s.History(ctx, HistoryQuery{})
	if err != nil || len(h) != 1 {
		t.Fatalf("history = %v, %v", h, err)
	}
	it := due[0]
	if err := s.MarkRetry(ctx, it.ID, t0.Add(time.Minute), "slack: 503"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, t0.Add(30*time.Second), 10); len(due) != 0 {
		t.Errorf("retried item due before its time: %+v", due)
	}
	due, _ = s.DueOutbox(ctx, t0.Add(time.Minute), 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "slack: 503" {
		t.Fatalf("due after retry = %+v", due)
	}
	if err := s.MarkSent(ctx, it.ID, t0.Add(time.Minute), "1718000000.000100"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("sent item still due: %+v", due)
	}
	// Committing the same event after delivery queues nothing again.
	if err := s.Commit(ctx, next, evs, items); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("re-committed item due again: %+v", due)
	}
	r, ok, err := s.Receipt(ctx, "checkout", it.Episode, "slack")
	if err != nil || !ok || r != "1718000000.000100" {
		t.Errorf("receipt = %q %v %v", r, ok, err)
	}
	if err := s.SetReceipt(ctx, "checkout", it.Episode, "slack", "2", t0); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := s.Receipt(ctx, "checkout", it.Episode, "slack"); r != "2" {
		t.Errorf("receipt after SetReceipt = %q", r)
	}
	if _, ok, _ := s.Receipt(ctx, "checkout", "other", "slack"); ok {
		t.Error("receipt of another episode")
	}
	got, err := s.OutboxItemByID(ctx, it.ID)
	if err != nil || got.SentAt == nil || got.Attempts != 2 || got.LastError != "" {
		t.Errorf("item = %+v, %v", got, err)
	}

	// A permanent failure is no longer due and is counted.
	_, evs2 := evaluation(next, t0.Add(time.Hour), 0.9)
	if err := s.Commit(ctx, nil, evs2, outboxFor(evs2, "pagerduty")); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueOutbox(ctx, t0.Add(2*time.Hour), 10)
	if len(due) != 1 {
		t.Fatalf("due = %+v", due)
	}
	if err := s.MarkPermanentFailure(ctx, due[0].ID, "400 invalid routing key"); err != nil {
		t.Fatal(err)
	}
	pending, failed, err := s.OutboxStats(ctx)
	if err != nil || pending != 0 || failed != 1 {
		t.Errorf("stats = %d %d %v", pending, failed, err)
	}
	if err := s.MarkRetry(ctx, 9999, t0, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of a missing item: %v", err)
	}
	if err := s.MarkSent(ctx, 9999, t0, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("sent of a missing item: %v", err)
	}
	n, err := s.PruneOutbox(ctx, t0.Add(3*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("pruned %d, %v", n, err)
	}
	if err := s.Commit(ctx, nil, nil, []OutboxItem{{Key: "k"}}); err == nil {
		t.Error("an item without a channel was accepted")
	}
}

func TestHistoryOrderAndLimits(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	var prev map[string]freeze.State
	budgets := []float64{-0.1, 0.5, -0.1, 0.5, -0.1}
	for i, v := range budgets {
		next, evs := evaluation(prev, t0.Add(time.Duration(i)*time.Hour), v)
		if err := s.Commit(ctx, next, evs, nil); err != nil {
			t.Fatal(err)
		}
		prev = next
	}
	other := freeze.Event{Key: "web/x/freeze_started", Kind: freeze.KindFreezeStarted, Service: "web", Episode: "x", At: t0.Add(90 * time.Minute)}
	if err := s.Commit(ctx, nil, []freeze.Event{other}, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.History(ctx, HistoryQuery{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i, h := range all {
		kinds = append(kinds, h.Kind)
		if i > 0 && h.At.After(all[i-1].At) {
			t.Errorf("not newest first: %s after %s", h.At, all[i-1].At)
		}
	}
	// 0.5 after a freeze lifts it and clears nothing (no warning at 50%).
	want := []string{"freeze_started", "freeze_lifted", "freeze_started", "freeze_lifted", "freeze_started"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	if all[0].Budget["availability"] != -0.1 || !all[0].Frozen || all[0].Sources[0] != freeze.SourceBudget || len(all[0].Reasons) == 0 || all[0].Event.Key != all[0].Key {
		t.Errorf("entry = %+v", all[0])
	}
	lim, _ := s.History(ctx, HistoryQuery{Limit: 2})
	if len(lim) != 2 || !lim[0].At.Equal(t0.Add(4*time.Hour)) || !lim[1].At.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("limited = %+v", lim)
	}
	win, _ := s.History(ctx, HistoryQuery{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)})
	if len(win) != 2 || win[0].Service != "web" || win[1].Kind != freeze.KindFreezeLifted {
		t.Errorf("window = %+v", win)
	}
}

func TestManualAndAudit(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	until := t0.Add(2 * time.Hour)
	id1, err := s.AddManual(ctx, freeze.Manual{Service: "checkout", Action: freeze.ActionFreeze, Reason: "db migration", Author: "alice", Start: t0, Until: &until}, t0)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.AddManual(ctx, freeze.Manual{Service: "checkout", Action: freeze.ActionUnfreeze, Reason: "hotfix", Author: "bob", Start: t0.Add(time.Minute)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddManual(ctx, freeze.Manual{Service: "web", Action: freeze.ActionFreeze, Reason: "r", Author: "carol", Start: t0}, t0); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []freeze.Manual{
		{Service: "x", Action: "pause", Reason: "r", Author: "a", Start: t0},
		{Service: "x", Action: freeze.ActionFreeze, Reason: "", Author: "a", Start: t0},
		{Service: "x", Action: freeze.ActionFreeze, Reason: "r", Author: "a", Start: t0, Until: &t0},
	} {
		if _, err := s.AddManual(ctx, bad, t0); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	active, err := s.ActiveManual(ctx, t0.Add(time.Hour))
	if err != nil || len(active) != 3 || active[0].ID != id1 || active[0].Until == nil || !active[0].Until.Equal(until) {
		t.Fatalf("active = %+v, %v", active, err)
	}
	if active, _ := s.ActiveManual(ctx, until); len(active) != 2 {
		t.Errorf("expired entry still active: %+v", active)
	}
	ended, err := s.EndManual(ctx, EndRequest{ID: id2, By: "bob", Reason: "done", At: t0.Add(time.Hour)})
	if err != nil || !slices.Equal(ended, []int64{id2}) {
		t.Fatalf("ended = %v, %v", ended, err)
	}
	if _, err := s.EndManual(ctx, EndRequest{ID: id2, By: "bob", At: t0.Add(time.Hour)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending twice: %v", err)
	}
	ended, err = s.EndManual(ctx, EndRequest{Service: "checkout", By: "dave", Reason: "all clear", At: t0.Add(time.Hour)})
	if err != nil || !slices.Equal(ended, []int64{id1}) {
		t.Errorf("ended by service = %v, %v", ended, err)
	}
	m, err := s.ManualByID(ctx, id1)
	if err != nil || m.EndedAt == nil || m.EndedBy != "dave" || m.EndReason != "all clear" || m.Author != "alice" {
		t.Errorf("manual = %+v, %v", m, err)
	}
	if _, err := s.ManualByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing manual: %v", err)
	}
	hist, _ := s.ManualHistory(ctx, "checkout", 0)
	if len(hist) != 2 || hist[0].ID != id2 {
		t.Errorf("manual history = %+v", hist)
	}
	if err := s.Audit(ctx, AuditEntry{At: t0.Add(2 * time.Hour), Actor: "ci", Action: "gate_check", Service: "checkout", Detail: "denied"}); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, "checkout", 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	want := []string{"ci:gate_check", "dave:manual_end", "bob:manual_end", "bob:manual_unfreeze", "alice:manual_freeze"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
	if all, _ := s.AuditLog(ctx, "", 1); len(all) != 1 {
		t.Errorf("limit not applied: %d", len(all))
	}
}

func TestRecordExemptionOnce(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	st := freeze.State{Service: "checkout", Frozen: true, Sources: []string{freeze.SourceBudget}, Episode: "f-1"}
	d := freeze.Check(st, "security", freeze.NewPolicy("standard"))
	e := freeze.ExemptionEvent(d, "pipeline-7", "ci", t0)
	for i := range 2 {
		fresh, err := s.RecordEvent(ctx, e, AuditEntry{At: t0, Actor: "ci", Action: freeze.KindExemptionUsed, Service: "checkout", Detail: "security: pipeline-7"}, outboxFor([]freeze.Event{e}, "slack"))
		if err != nil || fresh != (i == 0) {
			t.Fatalf("call %d: fresh=%v err=%v", i, fresh, err)
		}
	}
	log, _ := s.AuditLog(ctx, "checkout", 0)
	due, _ := s.DueOutbox(ctx, t0, 0)
	hist, _ := s.History(ctx, HistoryQuery{Service: "checkout"})
	if len(log) != 1 || len(due) != 1 || len(hist) != 1 || hist[0].Event.Exemption != "security" {
		t.Errorf("audit %d, outbox %d, history %+v", len(log), len(due), hist)
	}
}

func TestConcurrentCommits(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir)
	b := open(t, dir) // a second handle on the same file, as a second process would
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g, s := range []*Store{a, b} {
		wg.Go(func() {
			for i := range 25 {
				svc := fmt.Sprintf("svc%d", g)
				ev := freeze.Event{Key: fmt.Sprintf("%s/e/%d", svc, i), Kind: freeze.KindFreezeUpdated, Service: svc, At: t0.Add(time.Duration(i) * time.Second)}
				if err := s.Commit(ctx, nil, []freeze.Event{ev}, []OutboxItem{{Key: ev.Key, Channel: "file", Service: svc}}); err != nil {
					errs <- err
					return
				}
				if _, err := s.AddManual(ctx, freeze.Manual{Service: svc, Action: freeze.ActionFreeze, Reason: "r", Author: "a", Start: t0}, t0); err != nil {
					errs <- err
					return
				}
				if _, err := s.DueOutbox(ctx, t0, 5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h, _ := a.History(ctx, HistoryQuery{Limit: 1000})
	m, _ := b.ActiveManual(ctx, t0)
	if len(h) != 50 || len(m) != 50 {
		t.Errorf("history %d, manual %d; want 50 each", len(h), len(m))
	}
}

func TestUpgradeFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := t.Context()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO manual_freezes (service, action, reason, author, start, created) VALUES ('checkout', 'freeze', 'old', 'alice', ?, ?)`, t0.UnixNano(), t0.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM outbox`); err == nil {
		t.Fatal("v1 already has the outbox")
	}
	db.Close()

	s := open(t, path)
	if v, _ := s.Version(ctx); v != SchemaVersion() || v < 2 {
		t.Fatalf("version after upgrade = %d", v)
	}
	active, err := s.ActiveManual(ctx, t0)
	if err != nil || len(active) != 1 || active[0].Reason != "old" {
		t.Errorf("v1 data after upgrade = %+v, %v", active, err)
	}
	if err := s.Commit(ctx, nil, nil, []OutboxItem{{Key: "k", Channel: "file"}}); err != nil {
		t.Errorf("outbox after upgrade: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening applies nothing twice.
	s2 := open(t, path)
	var n int
	if err := s2.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != SchemaVersion() {
		t.Errorf("schema_migrations rows = %d, %v", n, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied) VALUES (?, 0)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(t.Context(), path); err == nil {
		s2.Close()
		t.Fatal("a database from a newer slokeeper was opened")
	}
}

func TestFailedCommitLeavesNothing(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	next, evs := evaluation(nil, t0, -0.1)
	s.beforeCommit = func() error { return errors.New("disk full") }
	if err := s.Commit(ctx, next, evs, outboxFor(evs, "slack")); err == nil {
		t.Fatal("commit did not fail")
	}
	assertEmpty(t, s)
	s.beforeCommit = nil
	if err := s.Commit(ctx, next, evs, outboxFor(evs, "slack")); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, t0, 0); len(due) != 1 {
		t.Errorf("due after retrying the commit = %d", len(due))
	}
}

func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	states, _ := s.States(ctx)
	due, _ := s.DueOutbox(ctx, t0.Add(time.Hour), 0)
	hist, _ := s.History(ctx, HistoryQuery{})
	if len(states) != 0 || len(due) != 0 || len(hist) != 0 {
		t.Errorf("after a failed commit: %d states, %d notifications, %d decisions", len(states), len(due), len(hist))
	}
}

// TestCrashMidCommit kills a process inside Commit's transaction and
// checks that the database holds none of it, and still works.
func TestCrashMidCommit(t *testing.T) {
	if path := os.Getenv("SLOKEEPER_STORE_CRASH"); path != "" {
		s, err := Open(context.Background(), path)
		if err != nil {
			os.Exit(2)
		}
		s.beforeCommit = func() error { os.Exit(3); return nil }
		next, evs := evaluation(nil, t0, -0.1)
		_ = s.Commit(context.Background(), next, evs, outboxFor(evs, "slack"))
		os.Exit(4)
	}
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashMidCommit$")
	cmd.Env = append(os.Environ(), "SLOKEEPER_STORE_CRASH="+path)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("helper process: %v", err)
	}
	s := open(t, path)
	assertEmpty(t, s)
	next, evs := evaluation(nil, t0, -0.1)
	if err := s.Commit(t.Context(), next, evs, outboxFor(evs, "slack")); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(t.Context(), t0, 0); len(due) != 1 {
		t.Errorf("due = %d", len(due))
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "a?b")); err == nil {
		t.Error("path with ? accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a database, definitely not one at all................................................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), file); err == nil {
		s.Close()
		t.Error("a non-database file was opened")
	}
}
