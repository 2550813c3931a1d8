// Package fakeapi is what the strict Slack and PagerDuty fakes share: the
// queue of injected faults, the log of the calls received, and holding a
// request for an injected delay. The checks of each API stay in its fake.
package fakeapi

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults is a queue of faults, each for the next n requests whose path
// ends with its path ("" matches every request). Safe for concurrent use.
type Faults[F any] struct {
	mu sync.Mutex
	q  []*entry[F]
}

type entry[F any] struct {
	f    F
	path string
	left int
}

// Add queues f for the next n matching requests.
func (q *Faults[F]) Add(n int, path string, f F) {
	if n <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.q = append(q.q, &entry[F]{f: f, path: path, left: n})
}

// Take returns the first fault queued for path and counts it used.
func (q *Faults[F]) Take(path string) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, e := range q.q {
		if e.path == "" || strings.HasSuffix(path, e.path) {
			e.left--
			if e.left == 0 {
				q.q = append(q.q[:i], q.q[i+1:]...)
			}
			return e.f, true
		}
	}
	var zero F
	return zero, false
}

// Clear drops every queued fault.
func (q *Faults[F]) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.q = nil
}

// Log is the calls a fake received, in order. Safe for concurrent use.
type Log[C any] struct {
	mu    sync.Mutex
	calls []C
}

// Add appends a call.
func (l *Log[C]) Add(c C) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// All returns a copy of every call.
func (l *Log[C]) All() []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]C(nil), l.calls...)
}

// Filter returns the calls keep accepts.
func (l *Log[C]) Filter(keep func(C) bool) []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []C
	for _, c := range l.calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// UpdateLast changes the last call, if any.
func (l *Log[C]) UpdateLast(fn func(*C)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.calls); n > 0 {
		fn(&l.calls[n-1])
	}
}

// Hold delays the answer to r by d. It reads the body first (at most
// maxBody bytes, put back for the handler): only then does the server
// watch the connection and cancel r.Context() when the client gives up.
// It returns "" when the delay passed, else why the request was dropped.
func Hold(r *http.Request, d time.Duration, maxBody int64, done <-chan struct{}) string {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return ""
	case <-r.Context().Done():
		return "injected delay: client gave up"
	case <-done:
		return "injected delay: server closed"
	}
}

// SetRetryAfter sets the Retry-After header in whole seconds, rounded up.
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int64(math.Ceil(d.Seconds()))))
	}
}

// WriteHTMLError answers an HTML error page, as load balancers in front of
// the real APIs do for 5xx.
func WriteHTMLError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><body>%d %s</body></html>", status, http.StatusText(status))
}
