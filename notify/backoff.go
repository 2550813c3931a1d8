package notify

import (
	"math/rand/v2"
	"time"
)

// Default backoff parameters.
const (
	DefaultBackoffBase = 2 * time.Second
	DefaultBackoffMax  = 10 * time.Minute
)

// BackoffPolicy computes retry delays: exponential from Base, doubled per
// attempt, capped at Max, with "equal jitter" (a delay d becomes a random
// value in [d/2, d]). Rand makes it deterministic in tests; nil uses the
// process-wide generator of math/rand/v2.
type BackoffPolicy struct {
	Base time.Duration
	Max  time.Duration
	Rand *rand.Rand
}

// Delay returns the delay before retry number attempt (0 = first retry).
func (p BackoffPolicy) Delay(attempt int) time.Duration {
	base, maxD := p.Base, p.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxD <= 0 {
		maxD = DefaultBackoffMax
	}
	if maxD < base {
		maxD = base
	}
	if attempt < 0 {
		attempt = 0
	}
	d := base
	for i := 0; i < attempt && d < maxD; i++ {
		d *= 2
	}
	if d > maxD {
		d = maxD
	}
	half := d / 2
	var j int64
	if half > 0 {
		if p.Rand != nil {
			j = p.Rand.Int64N(int64(half) + 1)
		} else {
			j = rand.Int64N(int64(half) + 1)
		}
	}
	return d - half + time.Duration(j)
}

// Next returns how long to wait before retry number attempt after err,
// and whether to retry at all: never after a *PermanentError; after the
// destination's Retry-After when it gave one (honoured as is, even above
// Max); after Delay(attempt) otherwise, including for errors no notifier
// classified.
func (p BackoffPolicy) Next(err error, attempt int) (time.Duration, bool) {
	if err == nil || IsPermanent(err) {
		return 0, false
	}
	if after, ok := RetryAfter(err); ok && after > 0 {
		return after, true
	}
	return p.Delay(attempt), true
}

// Backoff returns the delay before retry number attempt with the default
// policy (2s doubling up to 10m, equal jitter).
func Backoff(attempt int) time.Duration {
	return BackoffPolicy{}.Delay(attempt)
}
