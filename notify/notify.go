// Package notify holds the types shared by slokeeper's notifiers (Slack,
// PagerDuty, file): the message announcing a change-freeze state change,
// the receipt a notifier keeps per freeze episode, and the error
// classification and retry policy the daemon's outbox applies.
//
// A notifier is called by the outbox with a message that was persisted
// first, under an idempotency key, and may be called again with the same
// message after a crash or a failed attempt. Notifiers must therefore be
// safe to call repeatedly for one key: they either deduplicate remotely
// (Slack message metadata, PagerDuty dedup keys) or locally (file).
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the kind of state change a message announces.
type Kind string

// The kinds of messages.
const (
	FreezeStarted  Kind = "freeze_started"
	FreezeLifted   Kind = "freeze_lifted"
	BudgetWarning  Kind = "budget_warning"
	WarningCleared Kind = "warning_cleared"
	ManualFreeze   Kind = "manual_freeze"
	ManualUnfreeze Kind = "manual_unfreeze"
	ExemptionUsed  Kind = "exemption_used"
)

// Kinds returns every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{FreezeStarted, FreezeLifted, BudgetWarning, WarningCleared, ManualFreeze, ManualUnfreeze, ExemptionUsed}
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds() {
		if k == v {
			return true
		}
	}
	return false
}

// Freeze sources, as found in Message.Sources.
const (
	SourceBudget    = "budget"
	SourceBurnAlert = "burn_alert"
	SourcePagerDuty = "pagerduty"
	SourceSchedule  = "schedule"
	SourceManual    = "manual"
)

// SLOLine is the state of one SLO of the service at the time of the message.
type SLOLine struct {
	Name      string  `json:"name"`
	Objective float64 `json:"objective"` // e.g. 0.999
	// BudgetRemaining is the fraction of the period's error budget left
	// (1 = untouched, 0 = spent, negative = overspent); nil when unknown.
	BudgetRemaining *float64 `json:"budget_remaining,omitempty"`
	// BurnRates maps a window ("5m", "1h", "6h", "3d") to the burn rate
	// over it (1 = spending exactly the budget over the period).
	BurnRates    map[string]float64 `json:"burn_rates,omitempty"`
	DashboardURL string             `json:"dashboard_url,omitempty"`
	RunbookURL   string             `json:"runbook_url,omitempty"`
}

// Message is one notification. The outbox persists it before any notifier
// sees it; Key is its idempotency key.
type Message struct {
	Key     string `json:"key"`
	Kind    Kind   `json:"kind"`
	Service string `json:"service"`
	// Episode identifies one freeze episode of the service (e.g.
	// "checkout/1732400000"); the messages of one episode share it.
	Episode      string     `json:"episode,omitempty"`
	Sources      []string   `json:"sources,omitempty"`
	Reasons      []string   `json:"reasons,omitempty"`
	SLOs         []SLOLine  `json:"slos,omitempty"`
	Author       string     `json:"author,omitempty"`
	Exemption    string     `json:"exemption,omitempty"`
	Change       string     `json:"change,omitempty"`
	At           time.Time  `json:"at"`
	Until        *time.Time `json:"until,omitempty"`
	DashboardURL string     `json:"dashboard_url,omitempty"`
}

// Validate checks the fields every notifier relies on.
func (m Message) Validate() error {
	var errs []error
	if strings.TrimSpace(m.Key) == "" {
		errs = append(errs, errors.New("key is empty"))
	}
	if !m.Kind.Valid() {
		errs = append(errs, fmt.Errorf("unknown kind %q", m.Kind))
	}
	if strings.TrimSpace(m.Service) == "" {
		errs = append(errs, errors.New("service is empty"))
	}
	if m.At.IsZero() {
		errs = append(errs, errors.New("time (At) is zero"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid message %q: %w", m.Key, err)
	}
	return nil
}

// Receipt is a notifier's memory of an episode (for example the Slack
// channel and timestamp of the episode's first message). The outbox stores
// the receipt a notifier returns and hands it back as prior on the next
// message of the same episode.
type Receipt map[string]string

// Clone returns a copy of r (nil when r is nil).
func (r Receipt) Clone() Receipt {
	if r == nil {
		return nil
	}
	out := make(Receipt, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

// Notifier delivers messages to one destination.
//
// Send must be idempotent per m.Key: calling it again for a message that
// was already delivered must not deliver it twice (as far as the
// destination allows) and should return the same receipt. Errors are
// classified with *RetryError (retry, possibly after a delay) and
// *PermanentError (do not retry); unclassified errors are retried.
// Neither errors nor logs contain secrets (tokens, routing keys, webhook
// URLs).
type Notifier interface {
	Name() string
	Send(ctx context.Context, m Message, prior Receipt) (Receipt, error)
}

// Headline is a one-line, human summary of m, without markup.
func Headline(m Message) string {
	by := ""
	if m.Author != "" {
		by = " by " + m.Author
	}
	switch m.Kind {
	case FreezeStarted:
		return "Change freeze started for " + m.Service
	case FreezeLifted:
		return "Change freeze lifted for " + m.Service
	case BudgetWarning:
		return "Error budget warning for " + m.Service
	case WarningCleared:
		return "Error budget warning cleared for " + m.Service
	case ManualFreeze:
		return "Manual change freeze for " + m.Service + by
	case ManualUnfreeze:
		return "Manual unfreeze of " + m.Service + by
	case ExemptionUsed:
		ex := ""
		if m.Exemption != "" {
			ex = " (" + m.Exemption + ")"
		}
		return "Freeze exemption used for " + m.Service + ex + by
	default:
		return string(m.Kind) + " for " + m.Service
	}
}

// Summary is Headline followed by the reasons, on one line.
func Summary(m Message) string {
	s := Headline(m)
	if len(m.Reasons) > 0 {
		s += ": " + strings.Join(m.Reasons, "; ")
	}
	return s
}
