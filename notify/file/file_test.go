package file_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/file"
)

func msg(key string, kind notify.Kind) notify.Message {
	b := -0.05
	return notify.Message{Key: key, Kind: kind, Service: "checkout", Episode: "checkout/1",
		Reasons: []string{"budget exhausted"}, At: time.Date(2024, 11, 23, 0, 0, 0, 0, time.UTC),
		SLOs: []notify.SLOLine{{Name: "avail", Objective: 0.999, BudgetRemaining: &b,
			BurnRates: map[string]float64{"1h": math.Inf(1), "5m": math.NaN(), "6h": 2}}}}
}

func readRecords(t *testing.T, path string) []file.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []file.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r file.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestAppendAndDeduplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notifications.jsonl")
	logs := &bytes.Buffer{}
	n, err := file.New(file.Config{Path: path, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		key      string
		kind     notify.Kind
		wantLine string
	}{
		{"a", notify.FreezeStarted, "1"},
		{"b", notify.FreezeLifted, "2"},
		{"a", notify.FreezeStarted, "1"}, // resend: skipped
	}
	for _, s := range steps {
		rec, err := n.Send(ctx, msg(s.key, s.kind), nil)
		if err != nil {
			t.Fatal(err)
		}
		if rec[file.ReceiptLine] != s.wantLine || rec[file.ReceiptPath] != path {
			t.Errorf("send %s: receipt %v", s.key, rec)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	if len(recs) != 2 || recs[0].Key != "a" || recs[1].Kind != notify.FreezeLifted {
		t.Fatalf("records %+v", recs)
	}
	br := recs[0].SLOs[0].BurnRates
	if !math.IsInf(br["1h"], 1) || !math.IsNaN(br["5m"]) || br["6h"] != 2 || *recs[0].SLOs[0].BudgetRemaining != -0.05 {
		t.Errorf("burn rates round trip: %v", br)
	}
	if !strings.Contains(logs.String(), "Change freeze started for checkout: budget exhausted") {
		t.Errorf("log lacks the summary: %s", logs.String())
	}

	// A restart reads the keys back; a crash-torn last line is ignored.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"key":"c","kind":"freeze_sta`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n2, err := file.New(file.Config{Path: path, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := n2.Send(ctx, msg(k, notify.FreezeStarted), nil); err != nil {
			t.Fatal(err)
		}
	}
	n2.Close()
	recs = readRecords(t, path)
	if len(recs) != 3 || recs[2].Key != "c" {
		t.Fatalf("after restart: %d records %+v", len(recs), recs)
	}
	// And the repaired file opens again.
	n3, err := file.New(file.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer n3.Close()
	if rec, err := n3.Send(ctx, msg("c", notify.FreezeStarted), nil); err != nil || rec[file.ReceiptLine] != "3" {
		t.Errorf("resend after restart: %v %v", rec, err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := file.New(file.Config{}); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := file.New(file.Config{Path: filepath.Join(t.TempDir(), "missing", "x.jsonl")}); err == nil {
		t.Error("unopenable path accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("not json\n{\"key\":\"a\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := file.New(file.Config{Path: bad}); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("corrupt file: %v", err)
	}
	n, err := file.New(file.Config{Path: filepath.Join(t.TempDir(), "ok.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(context.Background(), notify.Message{Key: "x"}, nil); !notify.IsPermanent(err) {
		t.Errorf("invalid message: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.Send(ctx, msg("y", notify.FreezeStarted), nil); err == nil || notify.IsPermanent(err) {
		t.Errorf("cancelled context: %v", err)
	}
	n.Close()
	if _, err := n.Send(context.Background(), msg("z", notify.FreezeStarted), nil); !notify.IsPermanent(err) {
		t.Errorf("closed: %v", err)
	}
}
