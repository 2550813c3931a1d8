package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/rules"
)

// rulerPrefix is the path of the Mimir/Cortex ruler configuration API.
const rulerPrefix = "/prometheus/config/v1/rules"

// mimirRuler delivers rule groups through the Mimir/Cortex ruler API:
// POST {url}/prometheus/config/v1/rules/{namespace} with one group per
// request, DELETE .../{namespace}/{group} for the groups no longer
// generated. It remembers the hash of what it sent successfully and sends a
// group again only when it changed. On the first sync, and after a failed
// one, it lists what the ruler has (GET .../rules) so that groups left by a
// previous run are found; it owns only the namespaces named like its own.
type mimirRuler struct {
	base   string // URL without a trailing slash
	tenant string
	http   *http.Client
	log    *slog.Logger

	retries                int
	minBackoff, maxBackoff time.Duration

	mu     sync.Mutex
	sent   map[string]map[string]string // namespace -> group -> hash of the body sent
	synced bool                         // sent reflects the ruler (listed and no failure since)
	verify bool                         // list on the next sync, keeping the hashes of groups still there
}

// checkDrift makes the next sync list the ruler again: groups deleted
// behind slokeeper's back are sent again, groups added in its namespaces
// are removed. Groups still present keep their hash, so a resync with no
// drift sends nothing. The periodic resync calls it.
func (m *mimirRuler) checkDrift() {
	m.mu.Lock()
	m.verify = true
	m.mu.Unlock()
}

func newMimirRuler(m config.Mimir, timeout time.Duration, log *slog.Logger) (*mimirRuler, error) {
	hc, err := m.HTTP.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("rules.mimir: %w", err)
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(hc, "mimir-ruler")
	if err != nil {
		return nil, fmt.Errorf("rules.mimir: %w", err)
	}
	return &mimirRuler{
		base: strings.TrimRight(m.URL, "/"), tenant: m.Tenant,
		http:    &http.Client{Transport: tracePropagation(rt), Timeout: timeout},
		log:     log,
		retries: 4, minBackoff: 250 * time.Millisecond, maxBackoff: 10 * time.Second,
		sent: map[string]map[string]string{},
	}, nil
}

// rulerError is an answer of the ruler that is not a success.
type rulerError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *rulerError) Error() string {
	msg := fmt.Sprintf("mimir ruler: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (check the credentials and rules.mimir.tenant)"
	case http.StatusForbidden:
		msg += " (the credentials may not write rules for this tenant)"
	case http.StatusBadRequest:
		msg += " (the ruler refused the rule group)"
	}
	return msg
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// do sends one request, retrying network errors, 429 and 5xx with
// exponential backoff (Retry-After honoured up to maxBackoff). It returns
// the status and body of the final answer; non-2xx answers are a
// *rulerError.
func (m *mimirRuler) do(ctx context.Context, method, p string, body []byte) (int, []byte, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, m.base+p, rd)
		if err != nil {
			return 0, nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/yaml")
		}
		if m.tenant != "" {
			req.Header.Set("X-Scope-OrgID", m.tenant)
		}
		resp, err := m.http.Do(req)
		var wait time.Duration
		if err != nil {
			lastErr = fmt.Errorf("mimir ruler: %s %s: %w", method, p, err)
		} else {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return resp.StatusCode, b, nil
			}
			rerr := &rulerError{Method: method, Path: p, Status: resp.StatusCode, Body: oneLineTrunc(string(b), 300)}
			if !retryable(resp.StatusCode) {
				return resp.StatusCode, b, rerr
			}
			lastErr = rerr
			if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s >= 0 {
				wait = min(time.Duration(s)*time.Second, m.maxBackoff)
			}
		}
		if attempt >= m.retries || ctx.Err() != nil {
			return 0, nil, lastErr
		}
		if wait == 0 {
			wait = min(m.minBackoff<<attempt, m.maxBackoff)
		}
		m.log.Debug("Mimir ruler request failed; retrying", "method", method, "path", p, "err", lastErr, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, errors.Join(lastErr, ctx.Err())
		case <-t.C:
		}
	}
}

func oneLineTrunc(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// list reads the groups the ruler has in the owned namespaces.
func (m *mimirRuler) list(ctx context.Context, owned func(string) bool) (map[string][]string, error) {
	_, b, err := m.do(ctx, http.MethodGet, rulerPrefix, nil)
	var re *rulerError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return map[string][]string{}, nil // Mimir: "no rule groups found"
	}
	if err != nil {
		return nil, err
	}
	var all map[string][]struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("mimir ruler: GET %s: reading the answer: %w", rulerPrefix, err)
	}
	out := map[string][]string{}
	for ns, gs := range all {
		if !owned(ns) {
			continue
		}
		for _, g := range gs {
			out[ns] = append(out[ns], g.Name)
		}
	}
	return out, nil
}

// mimirResult counts what a sync did.
type mimirResult struct{ written, removed int }

// sync makes the ruler hold exactly groups in the namespaces owned accepts.
func (m *mimirRuler) sync(ctx context.Context, groups []rules.RulerGroup, owned func(namespace string) bool) (mimirResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res mimirResult
	if !m.synced || m.verify {
		remote, err := m.list(ctx, owned)
		if err != nil {
			return res, err
		}
		// After a failure what the ruler has is unknown content: forget the
		// hashes, so that every generated group is sent once. A drift check
		// after good syncs keeps the hashes of the groups still there. The
		// groups listed are candidates for removal either way.
		old := m.sent
		m.sent = map[string]map[string]string{}
		for ns, gs := range remote {
			m.sent[ns] = map[string]string{}
			for _, g := range gs {
				h := ""
				if m.synced {
					h = old[ns][g]
				}
				m.sent[ns][g] = h
			}
		}
		m.synced, m.verify = true, false
	}
	want := map[string]map[string]bool{}
	var errs []error
	// fail records an error and says whether to give up: after a 4xx the
	// other groups are still tried, but when the ruler is unreachable or
	// keeps failing after the retries, the rest waits for the next reconcile.
	fail := func(err error) (abort bool) {
		errs = append(errs, err)
		m.synced = false // list again next time: the ruler's state is uncertain
		var re *rulerError
		return !errors.As(err, &re) || retryable(re.Status)
	}
	for _, g := range groups {
		if want[g.Namespace] == nil {
			want[g.Namespace] = map[string]bool{}
		}
		want[g.Namespace][g.Name] = true
		sum := sha256.Sum256(g.Body)
		h := hex.EncodeToString(sum[:])
		if old, ok := m.sent[g.Namespace][g.Name]; ok && old == h {
			continue
		}
		p := rulerPrefix + "/" + url.PathEscape(g.Namespace)
		if _, _, err := m.do(ctx, http.MethodPost, p, g.Body); err != nil {
			if fail(fmt.Errorf("group %s/%s: %w", g.Namespace, g.Name, err)) {
				return res, fmt.Errorf("delivering rules to the Mimir ruler: %w", errors.Join(errs...))
			}
			continue
		}
		if m.sent[g.Namespace] == nil {
			m.sent[g.Namespace] = map[string]string{}
		}
		m.sent[g.Namespace][g.Name] = h
		res.written++
		m.log.Info("rule group sent to the Mimir ruler", "namespace", g.Namespace, "group", g.Name)
	}
	for _, ns := range sortedKeys(m.sent) {
		for _, name := range sortedKeys(m.sent[ns]) {
			if want[ns][name] {
				continue
			}
			p := rulerPrefix + "/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
			_, _, err := m.do(ctx, http.MethodDelete, p, nil)
			var re *rulerError
			if err != nil && !(errors.As(err, &re) && re.Status == http.StatusNotFound) {
				if fail(fmt.Errorf("group %s/%s: %w", ns, name, err)) {
					return res, fmt.Errorf("delivering rules to the Mimir ruler: %w", errors.Join(errs...))
				}
				continue
			}
			delete(m.sent[ns], name)
			if len(m.sent[ns]) == 0 {
				delete(m.sent, ns)
			}
			res.removed++
			m.log.Info("rule group removed from the Mimir ruler", "namespace", ns, "group", name)
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("delivering rules to the Mimir ruler: %w", errors.Join(errs...))
	}
	return res, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
