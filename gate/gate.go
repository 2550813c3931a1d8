// Package gate is the change-freeze gate's wire format and its HTTP client:
// what GET /api/v1/freeze answers, the bodies of the manual freeze and
// exemption calls, and the client `slokeeper freeze` uses from CI/CD
// pipelines. The daemon serves the same types.
package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Exemption kinds a change can carry past a freeze, when the service's
// policy allows them.
const (
	ExemptP0       = "p0"
	ExemptSecurity = "security"
)

// Decision is GET /api/v1/freeze?service=S[&exempt=K].
type Decision struct {
	Service string `json:"service"`
	// Frozen says whether the service is frozen; Allowed whether a change
	// may go now (not frozen, or frozen and exempted).
	Frozen   bool `json:"frozen"`
	Allowed  bool `json:"allowed"`
	Exempted bool `json:"exempted,omitempty"`
	// Exemption is the kind asked for ("" for none).
	Exemption string `json:"exemption,omitempty"`
	// Sources of the freeze: budget, burn_alert, pagerduty, schedule, manual.
	Sources []string `json:"sources"`
	Reasons []string `json:"reasons"`
	// Since is when the freeze started; Until when it is known to end
	// (schedule or manual expiry).
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// Budget is the remaining error budget of each SLO of the service
	// (fraction; nil when unknown).
	Budget map[string]*float64 `json:"budget"`
	// Exemptions are the exemption kinds the service's policy accepts.
	Exemptions []string `json:"exemptions"`
	// Policy names the policy that applies.
	Policy string `json:"policy,omitempty"`
	// Stale is set when the budget data is stale: the decision then rests
	// on the last good data.
	Stale bool `json:"stale"`
	// Warning is set when the budget is under the policy's warning level.
	Warning bool `json:"warning,omitempty"`
}

// ManualFreeze is the body of POST /api/v1/freezes, and an active manual
// freeze in GET /api/v1/freezes.
type ManualFreeze struct {
	ID      int64  `json:"id,omitempty"`
	Service string `json:"service"`
	// Action is "freeze" (the default) or "unfreeze": an override that
	// lifts every freeze source while it is active.
	Action string     `json:"action,omitempty"`
	Reason string     `json:"reason"`
	Author string     `json:"author"`
	Start  *time.Time `json:"start,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

// Unfreeze is the body of DELETE /api/v1/freezes/{service}.
type Unfreeze struct {
	Author string `json:"author"`
	Reason string `json:"reason"`
}

// Exemption is the body of POST /api/v1/freeze/exemptions: a change that
// went out during a freeze under an exemption, recorded and announced.
type Exemption struct {
	Service string `json:"service"`
	Kind    string `json:"kind"`
	Change  string `json:"change"`
	Author  string `json:"author"`
}

// Limits of the free-text fields, checked by the daemon.
const (
	MaxReason = 1024
	MaxAuthor = 256
	MaxChange = 512
)

// Client talks to a daemon's gate.
type Client struct {
	// URL is the daemon's base URL, e.g. http://slokeeper:9740.
	URL string
	// Token is the bearer token of the manual freeze and exemption calls.
	Token string
	// HTTP sends the requests (default: 30 s timeout).
	HTTP *http.Client
}

// APIError is an error answer of the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// ErrUnauthorized is wrapped by a 401/403 APIError.
var ErrUnauthorized = errors.New("unauthorized")

// Unwrap maps 401 and 403 to ErrUnauthorized.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return ErrUnauthorized
	}
	return nil
}

// Check asks whether a change to service may go now; exemption is "" or
// an exemption kind.
func (c *Client) Check(ctx context.Context, service, exemption string) (Decision, error) {
	q := url.Values{"service": {service}}
	if exemption != "" {
		q.Set("exempt", exemption)
	}
	var d Decision
	err := c.do(ctx, http.MethodGet, "/api/v1/freeze?"+q.Encode(), nil, false, &d)
	return d, err
}

// RecordExemption records a change that goes out under an exemption.
func (c *Client) RecordExemption(ctx context.Context, e Exemption) error {
	return c.do(ctx, http.MethodPost, "/api/v1/freeze/exemptions", e, true, nil)
}

// StartFreeze starts a manual freeze and returns it as recorded.
func (c *Client) StartFreeze(ctx context.Context, f ManualFreeze) (ManualFreeze, error) {
	var out ManualFreeze
	err := c.do(ctx, http.MethodPost, "/api/v1/freezes", f, true, &out)
	return out, err
}

// StopFreeze ends the service's manual freezes.
func (c *Client) StopFreeze(ctx context.Context, service string, u Unfreeze) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/freezes/"+url.PathEscape(service), u, true, nil)
}

// Freezes lists the active manual freezes.
func (c *Client) Freezes(ctx context.Context) ([]ManualFreeze, error) {
	var out struct {
		Freezes []ManualFreeze `json:"freezes"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/freezes", nil, false, &out)
	return out.Freezes, err
}

func (c *Client) do(ctx context.Context, method, path string, body any, auth bool, out any) error {
	base := strings.TrimRight(c.URL, "/")
	if base == "" {
		return errors.New("no daemon URL")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth && c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, base+strings.SplitN(path, "?", 2)[0], redactErr(err, c.Token))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		return &APIError{Status: resp.StatusCode, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the answer of %s: %w", path, err)
		}
	}
	return nil
}

// redactErr keeps the token out of an error's text.
func redactErr(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[REDACTED]"))
}
