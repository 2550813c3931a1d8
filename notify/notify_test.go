package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slokeeper/slokeeper/notify"
)

func TestErrorHelpers(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name      string
		err       error
		permanent bool
		retry     bool
		after     time.Duration
	}{
		{"nil", nil, false, false, 0},
		{"plain", base, false, false, 0},
		{"retry", notify.Retry(5*time.Second, base), false, true, 5 * time.Second},
		{"wrapped retry", fmt.Errorf("ctx: %w", notify.Retry(0, base)), false, true, 0},
		{"permanent", notify.Permanent(base), true, false, 0},
		{"wrapped permanent", fmt.Errorf("ctx: %w", notify.Permanent(base)), true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after, retry := notify.RetryAfter(tc.err)
			if notify.IsPermanent(tc.err) != tc.permanent || retry != tc.retry || after != tc.after {
				t.Errorf("permanent=%v retry=%v after=%s", notify.IsPermanent(tc.err), retry, after)
			}
			if tc.err != nil && !errors.Is(tc.err, base) {
				t.Error("does not unwrap to the cause")
			}
		})
	}
	if notify.Retry(0, nil) != nil || notify.Permanent(nil) != nil {
		t.Error("nil not preserved")
	}
}

func TestRedact(t *testing.T) {
	secret := "xoxb-123-456-abc/def"
	err := fmt.Errorf("post %q: %w", "https://hooks.example.com/"+secret+"?t=xoxb-123-456-abc%2Fdef", context.DeadlineExceeded)
	r := notify.RedactError(notify.Retry(time.Second, err), secret)
	if strings.Contains(r.Error(), "xoxb-123") {
		t.Errorf("not redacted: %v", r)
	}
	if !errors.Is(r, context.DeadlineExceeded) {
		t.Error("lost the context sentinel")
	}
	if d, ok := notify.RetryAfter(r); !ok || d != time.Second {
		t.Error("lost the retry class")
	}
	if !notify.IsPermanent(notify.RedactError(notify.Permanent(errors.New("x")), "")) {
		t.Error("lost the permanent class")
	}
	if got := notify.Redact("a  b", ""); got != "a  b" {
		t.Errorf("empty secret changed the text: %q", got)
	}
}

func TestBackoff(t *testing.T) {
	p := notify.BackoffPolicy{Base: time.Second, Max: 30 * time.Second, Rand: rand.New(rand.NewPCG(1, 2))}
	prevMax := time.Duration(0)
	for attempt := range 12 {
		d := p.Delay(attempt)
		ceil := min(time.Second<<attempt, 30*time.Second)
		if d < ceil/2 || d > ceil {
			t.Errorf("attempt %d: %s outside [%s, %s]", attempt, d, ceil/2, ceil)
		}
		prevMax = max(prevMax, d)
	}
	if prevMax > 30*time.Second {
		t.Errorf("cap exceeded: %s", prevMax)
	}
	q := notify.BackoffPolicy{Base: time.Second, Max: 30 * time.Second, Rand: rand.New(rand.NewPCG(1, 2))}
	if p2 := (notify.BackoffPolicy{Base: time.Second, Max: 30 * time.Second, Rand: rand.New(rand.NewPCG(1, 2))}); p2.Delay(3) != q.Delay(3) {
		t.Error("not deterministic with a seeded source")
	}
	if d := notify.Backoff(1000); d > notify.DefaultBackoffMax || d < notify.DefaultBackoffMax/2 {
		t.Errorf("Backoff(1000) = %s", d)
	}
	if d := notify.Backoff(-1); d <= 0 {
		t.Errorf("Backoff(-1) = %s", d)
	}
	if _, ok := p.Next(notify.Permanent(errors.New("x")), 0); ok {
		t.Error("permanent error retried")
	}
	if d, ok := p.Next(notify.Retry(time.Hour, errors.New("x")), 0); !ok || d != time.Hour {
		t.Errorf("Retry-After not honoured: %s", d)
	}
	if d, ok := p.Next(errors.New("unclassified"), 2); !ok || d < 2*time.Second || d > 4*time.Second {
		t.Errorf("unclassified: %s %v", d, ok)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"héllo wörld", 3, "hé…"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
	}
	for _, tc := range tests {
		if got := notify.Truncate(tc.in, tc.max); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	s := strings.Repeat("ü", 100)
	for n := 3; n < 30; n++ {
		got := notify.TruncateBytes(s, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Errorf("TruncateBytes(%d) = %q", n, got)
		}
	}
}

func TestFormatting(t *testing.T) {
	b := -0.125
	tests := []struct{ got, want string }{
		{notify.FormatPercent(0.999), "99.9%"},
		{notify.FormatPercent(0.99995), "99.995%"},
		{notify.FormatBudget(&b), "-12.5%"},
		{notify.FormatBudget(nil), "n/a"},
		{notify.FormatBurn(14.4), "14.4x"},
		{notify.FormatBurn(math.Inf(1)), "+Inf"},
		{notify.FormatBurn(math.NaN()), "n/a"},
		{notify.FormatBurnRates(map[string]float64{"3d": 1, "5m": 2, "1h": 3, "weird": 4}), "5m 2x, 1h 3x, 3d 1x, weird 4x"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestMessageJSONAndValidation(t *testing.T) {
	b := 0.5
	until := time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)
	m := notify.Message{Key: "k", Kind: notify.FreezeStarted, Service: "svc", At: until.Add(-time.Hour), Until: &until,
		SLOs: []notify.SLOLine{{Name: "a", Objective: 0.99, BudgetRemaining: &b, BurnRates: map[string]float64{"1h": math.NaN(), "5m": math.Inf(-1), "6h": 1.5}}}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back notify.Message
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	br := back.SLOs[0].BurnRates
	if !math.IsNaN(br["1h"]) || !math.IsInf(br["5m"], -1) || br["6h"] != 1.5 || *back.SLOs[0].BudgetRemaining != 0.5 || !back.Until.Equal(until) {
		t.Errorf("round trip: %s -> %+v", data, back)
	}
	bad := notify.Message{Kind: "nope"}
	err = bad.Validate()
	if err == nil {
		t.Fatal("invalid message accepted")
	}
	for _, want := range []string{"key is empty", "unknown kind", "service is empty", "zero"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
	for _, k := range notify.Kinds() {
		m.Kind = k
		if h := notify.Headline(m); !strings.Contains(h, "svc") {
			t.Errorf("headline of %s: %q", k, h)
		}
	}
}
