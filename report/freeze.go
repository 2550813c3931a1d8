package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// FreezePeriod is one span during which a service was frozen.
type FreezePeriod struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	// End is zero while the freeze is ongoing.
	End time.Time `json:"end,omitzero"`
	// Sources are the freeze sources that held it ("budget", "incident",
	// "schedule", "manual"); Reasons their human-readable reasons.
	Sources []string `json:"sources,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// FreezeHistory supplies the freeze periods of a service that overlap
// [from, to]. An empty service means every service. The daemon implements
// it over its store.
type FreezeHistory interface {
	FreezePeriods(ctx context.Context, service string, from, to time.Time) ([]FreezePeriod, error)
}

// FreezeHistoryPath is where the daemon serves its freeze history
// (FreezeHistoryHandler) and where HTTPFreezeHistory reads it.
const FreezeHistoryPath = "/api/v1/freezes/history"

// freezeHistoryResponse is the body of GET FreezeHistoryPath.
type freezeHistoryResponse struct {
	Periods []FreezePeriod `json:"periods"`
}

// FreezeHistoryHandler serves h as JSON:
// GET ?service=S&from=RFC3339&to=RFC3339 -> {"periods": [...]}.
// from and to are required; service is optional.
func FreezeHistoryHandler(h FreezeHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		from, err1 := time.Parse(time.RFC3339, q.Get("from"))
		to, err2 := time.Parse(time.RFC3339, q.Get("to"))
		if err1 != nil || err2 != nil || to.Before(from) {
			http.Error(w, "from and to must be RFC 3339 times, from <= to", http.StatusBadRequest)
			return
		}
		ps, err := h.FreezePeriods(r.Context(), q.Get("service"), from, to)
		if err != nil {
			http.Error(w, "reading the freeze history failed", http.StatusInternalServerError)
			return
		}
		if ps == nil {
			ps = []FreezePeriod{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(freezeHistoryResponse{Periods: ps})
	})
}

// HTTPFreezeHistory reads the freeze history from a slokeeper daemon.
type HTTPFreezeHistory struct {
	// BaseURL of the daemon, e.g. http://slokeeper:8080.
	BaseURL string
	// Client defaults to http.DefaultClient.
	Client *http.Client
}

// FreezePeriods implements FreezeHistory.
func (h HTTPFreezeHistory) FreezePeriods(ctx context.Context, service string, from, to time.Time) ([]FreezePeriod, error) {
	u, err := url.Parse(strings.TrimSuffix(h.BaseURL, "/") + FreezeHistoryPath)
	if err != nil {
		return nil, fmt.Errorf("daemon URL %q: %w", h.BaseURL, err)
	}
	q := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	if service != "" {
		q.Set("service", service)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("reading the freeze history: %w", err)
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the freeze history from %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the freeze history from %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the freeze history from %s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(truncateBytes(body, 200))))
	}
	var out freezeHistoryResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding the freeze history from %s: %w", u.Redacted(), err)
	}
	return out.Periods, nil
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// clipFreezes keeps the periods of service overlapping [from, to], sorted
// by start, and the time frozen within [from, to] (overlaps counted once).
func clipFreezes(ps []FreezePeriod, service string, from, to time.Time) ([]FreezeSpan, time.Duration) {
	var out []FreezeSpan
	type iv struct{ a, b time.Time }
	var ivs []iv
	for _, p := range ps {
		if p.Service != service && p.Service != "" {
			continue
		}
		end := p.End
		ongoing := end.IsZero() || end.After(to)
		if ongoing {
			end = to
		}
		if !end.After(from) || !p.Start.Before(to) {
			continue
		}
		start := p.Start
		if start.Before(from) {
			start = from
		}
		sp := FreezeSpan{FreezePeriod: p, Ongoing: ongoing}
		sp.Service = service
		out = append(out, sp)
		ivs = append(ivs, iv{start, end})
	}
	slices.SortStableFunc(out, func(a, b FreezeSpan) int { return a.Start.Compare(b.Start) })
	slices.SortFunc(ivs, func(x, y iv) int { return x.a.Compare(y.a) })
	var total time.Duration
	var cur *iv
	for i := range ivs {
		switch {
		case cur == nil:
			cur = &ivs[i]
		case !ivs[i].a.After(cur.b):
			if ivs[i].b.After(cur.b) {
				cur.b = ivs[i].b
			}
		default:
			total += cur.b.Sub(cur.a)
			cur = &ivs[i]
		}
	}
	if cur != nil {
		total += cur.b.Sub(cur.a)
	}
	return out, total
}
