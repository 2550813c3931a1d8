package slo

import (
	"math"
	"time"
)

// Budget maths. All ratios are fractions (0.001, not 0.1%). Each function is
// total: it returns a finite number for any input, never NaN or Inf, because
// its results are shown to people and compared by the freeze policy.

// BurnRate is how fast the budget is spent: the error ratio divided by the
// allowed error ratio. 1 spends exactly the budget over the period.
func BurnRate(errorRatio, objective float64) float64 {
	budget := 1 - objective
	if budget <= 0 || isBad(errorRatio) || errorRatio <= 0 {
		return 0
	}
	return errorRatio / budget
}

// BudgetRemaining is the share of the period's error budget left, given the
// error ratio measured over the period: 1 when no errors, 0 when exactly
// spent, negative when overspent.
func BudgetRemaining(errorRatio, objective float64) float64 {
	budget := 1 - objective
	if budget <= 0 || isBad(errorRatio) {
		return 1
	}
	return 1 - errorRatio/budget
}

// BudgetConsumed is the share of budget spent between two remaining values.
func BudgetConsumed(remainingStart, remainingEnd float64) float64 {
	if isBad(remainingStart) || isBad(remainingEnd) {
		return 0
	}
	return remainingStart - remainingEnd
}

// TimeToExhaustion is how long the remaining budget lasts at burnRate:
// remaining x period / burnRate. It returns 0 when the budget is already
// spent and ok=false when the budget is not being spent (burnRate <= 0).
func TimeToExhaustion(remaining, burnRate float64, period time.Duration) (d time.Duration, ok bool) {
	if isBad(remaining) || isBad(burnRate) || burnRate <= 0 {
		return 0, false
	}
	if remaining <= 0 {
		return 0, true
	}
	v := remaining * float64(period) / burnRate
	if v > float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(v), true
}

// ErrorRatio is errors/total, 0 when there is no traffic.
func ErrorRatio(errors, total float64) float64 {
	if total <= 0 || isBad(errors) || isBad(total) {
		return 0
	}
	r := errors / total
	return math.Max(0, math.Min(1, r))
}

// AllowedErrors is how many errors the budget allows for a number of events.
func AllowedErrors(events, objective float64) float64 {
	if isBad(events) || events <= 0 {
		return 0
	}
	return events * (1 - objective)
}

func isBad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
