package webui

import (
	"context"
	"errors"
	"time"
)

// Backend is what the UI reads and changes; the daemon implements it. Every
// method is called on a request's context and must return when it is done.
// The UI never caches: each page view calls the backend once or twice.
type Backend interface {
	// SLOs lists every SLO with its last known status, in any order.
	SLOs(ctx context.Context) ([]SLOView, error)
	// SLO is one SLO with what its detail page shows; ok is false when no
	// SLO has that service and name.
	SLO(ctx context.Context, service, name string) (d SLODetail, ok bool, err error)
	// SLOHistory is the range data of one SLO's charts between from and to
	// (the UI asks for the current period up to now). An SLO without
	// recorded history returns an empty History and no error.
	SLOHistory(ctx context.Context, service, name string, from, to time.Time) (History, error)
	// Services lists every service that has SLOs or a freeze, in any order.
	Services(ctx context.Context) ([]ServiceView, error)
	// Service is one service with its freeze history; ok is false when the
	// service is unknown.
	Service(ctx context.Context, name string) (d ServiceDetail, ok bool, err error)
	// StartFreeze records a manual freeze. It returns an error wrapping
	// ErrUnauthorized when token is not a valid freeze token, and one
	// wrapping ErrInvalid (whose message is shown to the user, so it must
	// not contain secrets) when the request cannot be applied. Nothing may
	// change when it returns an error.
	StartFreeze(ctx context.Context, token string, req FreezeRequest) error
	// StopFreeze lifts the manual freezes of a service; same errors as
	// StartFreeze. Freezes from other sources (budget, incidents,
	// schedules) stay: they lift by themselves.
	StopFreeze(ctx context.Context, token string, req UnfreezeRequest) error
}

// Errors a Backend returns (wrapped or not) from StartFreeze and StopFreeze.
var (
	// ErrUnauthorized: the freeze token is missing or wrong.
	ErrUnauthorized = errors.New("invalid freeze token")
	// ErrInvalid: the request is well formed but cannot be applied (unknown
	// service, expiry beyond the allowed maximum, ...). The error's message
	// is shown on the page.
	ErrInvalid = errors.New("invalid request")
)

// SLOView is one SLO in lists, and the head of its detail page.
type SLOView struct {
	// Service and Name identify the SLO (its ID is Service/Name).
	Service string
	Name    string
	// Team owning the service; may be empty.
	Team string
	// Description from the spec; may be empty.
	Description string
	// Labels from the spec (metadata labels), shown as name=value chips and
	// usable as a filter.
	Labels map[string]string
	// Objective in percent (99.9).
	Objective float64
	// Period as written in the spec ("28d", "30d", "calendar month").
	Period string
	// SLIKind is "ratio", "latency", "availability" or "query".
	SLIKind string
	// BudgetRemaining is the share of the period's error budget left: 1 is
	// untouched, 0 spent, negative overspent. Nil when there is no data yet.
	BudgetRemaining *float64
	// ErrorRatio and BurnRate by window ("5m", "1h", ..., "period"), as
	// recorded; missing windows have no data.
	ErrorRatio map[string]float64
	BurnRate   map[string]float64
	// Alerts firing now for this SLO.
	Alerts []Alert
	// ReadAt is when the status was read from Prometheus (zero: never).
	ReadAt time.Time
	// Stale is set when the status is older than the daemon tolerates
	// (Prometheus unreachable); the values shown are the last good ones.
	Stale bool
	// KeptFromLastGood is set when the SLO's spec file now has errors and
	// this is its last good version.
	KeptFromLastGood bool
}

// ID is Service/Name.
func (s SLOView) ID() string { return s.Service + "/" + s.Name }

// Alert is one firing alert of an SLO.
type Alert struct {
	// Name is the alertname.
	Name string
	// Severity ("critical", "warning") and Tier ("page-fast", ...) labels.
	Severity string
	Tier     string
	// Labels are the alert's other labels, for display.
	Labels map[string]string
}

// SLODetail is what the SLO page shows beyond the list's columns.
type SLODetail struct {
	SLOView
	// Source is where the SLO is defined, "file:line".
	Source string
	// GroupBy lists the labels the SLO has one budget per value of; the
	// status values are those of the worst group.
	GroupBy []string
	// PeriodStart and PeriodEnd bound the current period (rolling: now
	// minus the period, and now). The budget burn-down spans them.
	PeriodStart time.Time
	PeriodEnd   time.Time
	// Tiers are the multi-window multi-burn-rate alert tiers, in order.
	Tiers []Tier
	// SpecYAML is the SLO's spec as written, RulesYAML the Prometheus rules
	// generated for it; shown verbatim.
	SpecYAML  string
	RulesYAML string
	// Links are Grafana dashboards for the SLO. A URL is absolute (http or
	// https), or a path beginning with "/" that is appended to
	// Options.GrafanaURL (and dropped when that is empty).
	Links []Link
}

// Tier is one burn-rate alert tier of an SLO.
type Tier struct {
	// Name ("page-fast") and Severity ("critical") of the tier.
	Name     string
	Severity string
	// Long and Short are the tier's two windows in Prometheus duration
	// syntax ("1h", "5m"), the keys of SLOView.BurnRate; both must burn
	// faster than Threshold for the tier to fire.
	Long  string
	Short string
	// Threshold is the burn-rate factor that fires the tier (14.4).
	Threshold float64
	// Disabled tiers are listed but never fire.
	Disabled bool
}

// Link is a titled URL.
type Link struct {
	Title string
	URL   string
}

// History is the range data of an SLO's charts.
type History struct {
	// Budget is the budget remaining over time (same unit as
	// SLOView.BudgetRemaining).
	Budget []Point
	// BurnRate is the burn rate over time by window ("1h", "6h", ...),
	// normally the tiers' long windows.
	BurnRate map[string][]Point
	// SLI is the good-events ratio over time (0..1, e.g. 0.9993), each
	// point over a short window.
	SLI []Point
}

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

// ServiceView is one service in the services list.
type ServiceView struct {
	Name string
	// Teams owning the service's SLOs.
	Teams []string
	// SLOs is how many SLOs the service has.
	SLOs int
	// MinBudget is the lowest budget remaining of its SLOs (nil: unknown).
	MinBudget *float64
	// FiringAlerts counts the SLO alerts firing for the service.
	FiringAlerts int
	// Freeze is the service's current change-freeze state.
	Freeze FreezeState
}

// FreezeState is whether a service's changes are frozen, and why.
type FreezeState struct {
	Frozen bool
	// Sources of the freeze: "budget", "incident", "schedule", "manual".
	Sources []string
	// Reasons, one line each, as recorded by the freeze policy.
	Reasons []string
	// Since is when the current state began (zero: unknown).
	Since time.Time
	// Until is when the freeze ends by itself (zero: no known end).
	Until time.Time
}

// ServiceDetail is what the service page shows.
type ServiceDetail struct {
	ServiceView
	// SLOList is the service's SLOs.
	SLOList []SLOView
	// History lists freeze decisions, newest first.
	History []Decision
	// ManualFreezes lists the manual freezes, active ones first.
	ManualFreezes []ManualFreeze
}

// Decision is one recorded state change of the freeze policy.
type Decision struct {
	At time.Time
	// Kind is "freeze" or "unfreeze".
	Kind    string
	Sources []string
	Reasons []string
	// Budget is the service's lowest budget remaining at the time (nil:
	// unknown).
	Budget *float64
}

// ManualFreeze is a freeze set by a person.
type ManualFreeze struct {
	Author string
	Reason string
	Start  time.Time
	// Until is when it expires (zero: until lifted).
	Until time.Time
	// Active is false once it expired or was lifted.
	Active bool
	// LiftedBy and LiftedAt are set when someone lifted it.
	LiftedBy string
	LiftedAt time.Time
}

// FreezeRequest starts a manual freeze.
type FreezeRequest struct {
	Service string
	Reason  string
	Author  string
	// Until is when the freeze expires (zero: until lifted).
	Until time.Time
}

// UnfreezeRequest lifts a service's manual freezes.
type UnfreezeRequest struct {
	Service string
	Author  string
	Reason  string
}
