package embedded

import (
	"bytes"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDemoteHandler(t *testing.T) {
	for _, tc := range []struct {
		level     slog.Level
		msg       string
		want      bool
		wantLevel string
	}{
		{slog.LevelInfo, overlapsExpected, false, ""},
		{slog.LevelDebug, overlapsExpected, true, "DEBUG"},
		{slog.LevelInfo, "Compactions enabled", true, "INFO"},
		{slog.LevelWarn, "something else", true, "WARN"},
		{slog.LevelError, "something else", true, "ERROR"},
	} {
		var buf bytes.Buffer
		base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})
		log := slog.New(demoteHandler{Handler: base, debug: map[string]bool{overlapsExpected: true}}).With("component", "tsdb")
		switch {
		case tc.msg == overlapsExpected, strings.HasPrefix(tc.msg, "something"):
			log.Warn(tc.msg, "detail", "x")
			log.Error(tc.msg)
		default:
			log.Info(tc.msg)
		}
		out := buf.String()
		if got := out != ""; got != tc.want {
			t.Errorf("level %s, %q: logged %q", tc.level, tc.msg, out)
			continue
		}
		if tc.want && (!strings.Contains(out, "level="+tc.wantLevel) || !strings.Contains(out, "component=tsdb")) {
			t.Errorf("level %s, %q: logged %q, want level %s", tc.level, tc.msg, out, tc.wantLevel)
		}
	}
}

func TestLowerGCTarget(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: backfills leave the GC target alone")
	}
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	a := lowerGCTarget()
	b := lowerGCTarget() // another backfill, maybe of another engine
	if got := debug.SetGCPercent(backfillGCPercent); got != backfillGCPercent {
		t.Fatalf("GC target %d during backfills, want %d", got, backfillGCPercent)
	}
	a() // the first one ends first
	if got := debug.SetGCPercent(backfillGCPercent); got != backfillGCPercent {
		t.Fatalf("GC target %d while a backfill still runs, want %d", got, backfillGCPercent)
	}
	b()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC target %d after the backfills, want 100 back", got)
	}
}
