package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// RetryError is a transient failure: rate limiting (429), a server error
// (5xx), a timeout or a connection error. After is the delay the
// destination asked for (Retry-After), or 0 when it did not say; the
// caller then uses Backoff.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
	}
	return fmt.Sprintf("%v (retryable)", e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// PermanentError is a failure that retrying will not fix: a rejected
// request (4xx other than 429), bad credentials, an unknown channel, an
// invalid message.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Retry wraps err as a *RetryError (nil stays nil).
func Retry(after time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &RetryError{After: after, Err: err}
}

// Permanent wraps err as a *PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or an error it wraps) is a
// *PermanentError, i.e. must not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfter reports whether err is a *RetryError and the delay it asks
// for (0 when the destination gave none: use Backoff).
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// IsTransient reports whether err is a network-level failure worth
// retrying: a timeout, a refused or reset connection, a cancelled or
// expired context.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// redactedError carries a message from which secrets were removed. It
// deliberately does not unwrap to the original error (whose message may
// hold the secret) but still matches the context sentinels.
type redactedError struct {
	msg      string
	canceled bool
	deadline bool
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool {
	return (target == context.Canceled && e.canceled) || (target == context.DeadlineExceeded && e.deadline)
}

// Redact replaces every non-empty secret in s with "[REDACTED]".
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
		// URL-escaped forms appear in url.Error messages and form bodies.
		if q := url.QueryEscape(sec); q != sec {
			s = strings.ReplaceAll(s, q, "[REDACTED]")
		}
		if p := url.PathEscape(sec); p != sec {
			s = strings.ReplaceAll(s, p, "[REDACTED]")
		}
	}
	return s
}

// RedactError returns an error whose message is err's with the secrets
// removed. The result keeps errors.Is matching context.Canceled and
// context.DeadlineExceeded but does not expose err itself. *RetryError and
// *PermanentError wrappers are preserved around the redacted message.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var r *RetryError
	if errors.As(err, &r) && r.Err != nil {
		return &RetryError{After: r.After, Err: redactPlain(r.Err, secrets)}
	}
	var p *PermanentError
	if errors.As(err, &p) && p.Err != nil {
		return &PermanentError{Err: redactPlain(p.Err, secrets)}
	}
	return redactPlain(err, secrets)
}

func redactPlain(err error, secrets []string) error {
	return &redactedError{
		msg:      Redact(err.Error(), secrets...),
		canceled: errors.Is(err, context.Canceled),
		deadline: errors.Is(err, context.DeadlineExceeded),
	}
}
