package slo

import (
	"math"
	"testing"
	"time"
)

func TestBurnRateAndRemaining(t *testing.T) {
	tests := []struct {
		name                 string
		errRatio, objective  float64
		wantBurn, wantRemain float64
	}{
		{"no errors", 0, 0.999, 0, 1},
		{"exactly on budget", 0.001, 0.999, 1, 0},
		{"half budget", 0.0005, 0.999, 0.5, 0.5},
		{"page fast burn", 0.0144, 0.999, 14.4, -13.4},
		{"all errors", 1, 0.99, 100, -99},
		{"NaN ratio", math.NaN(), 0.999, 0, 1},
		{"Inf ratio", math.Inf(1), 0.999, 0, 1},
		{"objective 100% has no budget", 0.1, 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BurnRate(tc.errRatio, tc.objective); math.Abs(got-tc.wantBurn) > 1e-9 {
				t.Errorf("BurnRate = %v, want %v", got, tc.wantBurn)
			}
			if got := BudgetRemaining(tc.errRatio, tc.objective); math.Abs(got-tc.wantRemain) > 1e-9 {
				t.Errorf("BudgetRemaining = %v, want %v", got, tc.wantRemain)
			}
		})
	}
}

func TestTimeToExhaustion(t *testing.T) {
	period := 30 * 24 * time.Hour
	tests := []struct {
		name            string
		remaining, burn float64
		want            time.Duration
		wantOK          bool
	}{
		{"burning at 1x with the whole budget lasts the period", 1, 1, period, true},
		{"half left at 14.4x", 0.5, 14.4, time.Duration(0.5 * float64(period) / 14.4), true},
		{"already spent", -0.2, 2, 0, true},
		{"not burning", 0.5, 0, 0, false},
		{"NaN", math.NaN(), 1, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := TimeToExhaustion(tc.remaining, tc.burn, period)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("TimeToExhaustion = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestErrorRatioNeverNaN(t *testing.T) {
	for _, c := range [][2]float64{{0, 0}, {1, 0}, {math.NaN(), 1}, {2, 1}, {-1, 1}} {
		r := ErrorRatio(c[0], c[1])
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > 1 {
			t.Errorf("ErrorRatio(%v, %v) = %v", c[0], c[1], r)
		}
	}
	if got := ErrorRatio(1, 1000); got != 0.001 {
		t.Errorf("ErrorRatio(1, 1000) = %v", got)
	}
	if got := AllowedErrors(1e6, 0.999); math.Abs(got-1000) > 1e-6 {
		t.Errorf("AllowedErrors = %v", got)
	}
	if got := BudgetConsumed(0.8, 0.5); math.Abs(got-0.3) > 1e-12 {
		t.Errorf("BudgetConsumed = %v", got)
	}
}

func TestTierFactors(t *testing.T) {
	// The SRE Workbook factors: 30d gives 14.4/6/3/1, 28d 13.44/5.6/2.8/0.933.
	for _, tc := range []struct {
		period time.Duration
		want   []float64
	}{
		{30 * 24 * time.Hour, []float64{14.4, 6, 3, 1}},
		{28 * 24 * time.Hour, []float64{13.44, 5.6, 2.8, 0.9333}},
	} {
		for i, tier := range DefaultTiers() {
			if got := tier.BurnFactor(tc.period); math.Abs(got-tc.want[i]) > 1e-3 {
				t.Errorf("%s over %s: factor %v, want %v", tier.Name, FormatDuration(tc.period), got, tc.want[i])
			}
		}
	}
	if f := (Tier{Factor: 2, Long: time.Hour}).BurnFactor(time.Hour); f != 2 {
		t.Errorf("fixed factor = %v", f)
	}
}

func TestCalendarBounds(t *testing.T) {
	p := Period{Kind: CalendarMonth, TimeZone: "Europe/Berlin"}
	// 2026-03-01 00:30 in Berlin is 2026-02-28 23:30 UTC.
	now := time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC)
	start, end, err := p.Bounds(now)
	if err != nil {
		t.Fatal(err)
	}
	if start.UTC() != time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC) || end.UTC() != time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC) {
		t.Errorf("bounds = %v .. %v", start.UTC(), end.UTC())
	}
	if _, _, err := (Period{Kind: CalendarMonth, TimeZone: "Nowhere/City"}).Bounds(now); err == nil {
		t.Error("want an error for an unknown zone")
	}
	if got := (Period{Kind: Rolling, Rolling: 28 * 24 * time.Hour}).String(); got != "28d" {
		t.Errorf("String = %q", got)
	}
}

func TestResolveTiers(t *testing.T) {
	yes, sev := true, "page-now"
	a := Alerting{Tiers: map[string]TierOverride{
		TierTicketSlow: {Disabled: &yes},
		TierPageFast:   {Severity: &sev, Labels: map[string]string{"x": "1"}},
	}}
	tiers := a.ResolveTiers(DefaultTiers())
	if len(tiers) != 4 || !tiers[3].Disabled || tiers[0].Severity != "page-now" || tiers[0].Labels["x"] != "1" {
		t.Errorf("tiers = %+v", tiers)
	}
	if DefaultTiers()[0].Labels != nil {
		t.Error("ResolveTiers changed the defaults")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 5 * time.Minute: "5m", 90 * time.Minute: "1h30m", 28 * 24 * time.Hour: "28d", 250 * time.Millisecond: "250ms",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
