package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
)

// Error types of Prometheus's API.
const (
	errorBadData     = "bad_data"
	errorExecution   = "execution"
	errorTimeout     = "timeout"
	errorCanceled    = "canceled"
	errorInternal    = "internal"
	errorUnavailable = "unavailable"
)

// maxPoints is Prometheus's limit of points per series of a range query.
const maxPoints = 11000

var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

type apiError struct {
	typ string
	err error
}

func (e *apiError) Error() string { return e.typ + ": " + e.err.Error() }

func badData(format string, a ...any) *apiError {
	return &apiError{typ: errorBadData, err: fmt.Errorf(format, a...)}
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

type queryData struct {
	ResultType model.ValueType `json:"resultType"`
	Result     model.Value     `json:"result"`
}

// Handler serves Prometheus's HTTP query API under /api/v1/: query,
// query_range, series, labels, label/<name>/values, rules, alerts, plus
// status/buildinfo, metadata and query_exemplars (empty) that Grafana asks
// for. Responses are Prometheus's JSON, so client_golang's v1.API and
// Grafana's Prometheus data source work against it. The daemon mounts it
// under /prometheus.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, f func(*http.Request) (any, []string, []string, *apiError)) {
		mux.HandleFunc("/api/v1/"+path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodPost {
				w.Header().Set("Allow", "GET, POST")
				writeError(w, &apiError{typ: errorBadData, err: fmt.Errorf("method %s not allowed", r.Method)})
				return
			}
			if err := r.ParseForm(); err != nil {
				writeError(w, badData("parsing the form: %v", err))
				return
			}
			data, warns, infos, aerr := f(r)
			if aerr != nil {
				writeError(w, aerr)
				return
			}
			writeJSON(w, http.StatusOK, response{Status: "success", Data: data, Warnings: warns, Infos: infos})
		})
	}
	handle("query", e.apiQuery)
	handle("query_range", e.apiQueryRange)
	handle("series", e.apiSeries)
	handle("labels", e.apiLabels)
	handle("label/{name}/values", e.apiLabelValues)
	handle("rules", e.apiRules)
	handle("alerts", e.apiAlerts)
	handle("status/buildinfo", func(*http.Request) (any, []string, []string, *apiError) {
		return map[string]string{
			"version": version.Version, "revision": version.Revision, "branch": version.Branch,
			"buildUser": version.BuildUser, "buildDate": version.BuildDate, "goVersion": version.GoVersion,
		}, nil, nil, nil
	})
	handle("metadata", func(*http.Request) (any, []string, []string, *apiError) {
		return map[string]any{}, nil, nil, nil
	})
	handle("query_exemplars", func(*http.Request) (any, []string, []string, *apiError) {
		return []any{}, nil, nil, nil
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(response{Status: "error", ErrorType: errorInternal, Error: "encoding the response: " + err.Error()})
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	code := http.StatusInternalServerError
	switch e.typ {
	case errorBadData:
		code = http.StatusBadRequest
	case errorExecution:
		code = http.StatusUnprocessableEntity
	case errorCanceled, errorTimeout, errorUnavailable:
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, response{Status: "error", ErrorType: e.typ, Error: e.err.Error()})
}

// parseTime reads Unix seconds (with a fraction) or RFC 3339, as
// Prometheus does.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		sec, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(sec), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTime.Format(time.RFC3339Nano):
		return minTime, nil
	case maxTime.Format(time.RFC3339Nano):
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads seconds (with a fraction) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func timeParam(r *http.Request, name string, def time.Time) (time.Time, *apiError) {
	v := r.Form.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badData("invalid parameter %q: %v", name, err)
	}
	return t, nil
}

// withTimeout applies the timeout parameter to the request's context.
func withTimeout(r *http.Request) (context.Context, context.CancelFunc, *apiError) {
	ctx := r.Context()
	if v := r.Form.Get("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, nil, badData("invalid parameter \"timeout\": %v", err)
		}
		c, cancel := context.WithTimeout(ctx, d)
		return c, cancel, nil
	}
	c, cancel := context.WithCancel(ctx)
	return c, cancel, nil
}

// execError classifies a query error as Prometheus's API does.
func execError(err error) *apiError {
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
		storErr  promql.ErrStorage
	)
	switch {
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		return &apiError{typ: errorCanceled, err: err}
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{typ: errorTimeout, err: err}
	case errors.As(err, &storErr):
		return &apiError{typ: errorInternal, err: err}
	}
	return &apiError{typ: errorExecution, err: err}
}

func (e *Engine) runQuery(ctx context.Context, qry promql.Query) (any, []string, []string, *apiError) {
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, nil, nil, execError(res.Err)
	}
	v, err := toModel(res.Value)
	if err != nil {
		return nil, nil, nil, &apiError{typ: errorInternal, err: err}
	}
	warns, infos := res.Warnings.AsStrings(qry.String(), 10, 10)
	return queryData{ResultType: v.Type(), Result: v}, warns, infos, nil
}

func (e *Engine) apiQuery(r *http.Request) (any, []string, []string, *apiError) {
	ts, aerr := timeParam(r, "time", time.Now())
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	ctx, cancel, aerr := withTimeout(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	defer cancel()
	qry, err := e.engine.NewInstantQuery(ctx, e.db, nil, r.Form.Get("query"), ts)
	if err != nil {
		return nil, nil, nil, &apiError{typ: errorBadData, err: err}
	}
	return e.runQuery(ctx, qry)
}

func (e *Engine) apiQueryRange(r *http.Request) (any, []string, []string, *apiError) {
	start, aerr := timeParam(r, "start", time.Time{})
	if aerr == nil && r.Form.Get("start") == "" {
		aerr = badData("invalid parameter \"start\": missing")
	}
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	end, aerr := timeParam(r, "end", time.Time{})
	if aerr == nil && r.Form.Get("end") == "" {
		aerr = badData("invalid parameter \"end\": missing")
	}
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	if end.Before(start) {
		return nil, nil, nil, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	step, err := parseDuration(r.Form.Get("step"))
	if err != nil {
		return nil, nil, nil, badData("invalid parameter \"step\": %v", err)
	}
	if step <= 0 {
		return nil, nil, nil, badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Sub(start)/step > maxPoints {
		return nil, nil, nil, badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	ctx, cancel, aerr := withTimeout(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	defer cancel()
	qry, err := e.engine.NewRangeQuery(ctx, e.db, nil, r.Form.Get("query"), start, end, step)
	if err != nil {
		return nil, nil, nil, &apiError{typ: errorBadData, err: err}
	}
	return e.runQuery(ctx, qry)
}

// matchers parses the match[] parameters.
func (e *Engine) matchers(r *http.Request) ([][]*labels.Matcher, *apiError) {
	var out [][]*labels.Matcher
	for _, s := range r.Form["match[]"] {
		ms, err := e.parser.ParseMetricSelector(s)
		if err != nil {
			return nil, badData("invalid parameter \"match[]\": %v", err)
		}
		out = append(out, ms)
	}
	return out, nil
}

func (e *Engine) querier(r *http.Request) (storage.Querier, time.Time, time.Time, *apiError) {
	start, aerr := timeParam(r, "start", minTime)
	if aerr != nil {
		return nil, start, start, aerr
	}
	end, aerr := timeParam(r, "end", maxTime)
	if aerr != nil {
		return nil, start, end, aerr
	}
	if end.Before(start) {
		return nil, start, end, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	q, err := e.db.Querier(timestamp(start), timestamp(end))
	if err != nil {
		return nil, start, end, &apiError{typ: errorExecution, err: err}
	}
	return q, start, end, nil
}

func timestamp(t time.Time) int64 {
	switch {
	case !t.After(minTime):
		return math.MinInt64
	case !t.Before(maxTime):
		return math.MaxInt64
	}
	return t.UnixMilli()
}

func limitParam(r *http.Request) (int, *apiError) {
	v := r.Form.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badData("invalid parameter \"limit\": %q is not a non-negative integer", v)
	}
	return n, nil
}

func (e *Engine) apiSeries(r *http.Request) (any, []string, []string, *apiError) {
	sets, aerr := e.matchers(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	if len(sets) == 0 {
		return nil, nil, nil, badData("no match[] parameter provided")
	}
	limit, aerr := limitParam(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	q, start, end, aerr := e.querier(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: timestamp(start), End: timestamp(end), Func: "series"}
	seen := map[uint64]bool{}
	var found []labels.Labels
	var warns []string
	for _, ms := range sets {
		ss := q.Select(r.Context(), false, hints, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			if h := l.Hash(); !seen[h] {
				seen[h] = true
				found = append(found, l)
			}
		}
		if err := ss.Err(); err != nil {
			return nil, nil, nil, execError(err)
		}
		for _, w := range ss.Warnings() {
			warns = append(warns, w.Error())
		}
	}
	slices.SortFunc(found, labels.Compare)
	if limit > 0 && len(found) > limit {
		found = found[:limit]
		warns = append(warns, "results truncated due to limit")
	}
	out := make([]map[string]string, len(found))
	for i, l := range found {
		out[i] = l.Map()
	}
	return out, warns, nil, nil
}

func (e *Engine) apiLabels(r *http.Request) (any, []string, []string, *apiError) {
	return e.labelQuery(r, func(ctx context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, []string, error) {
		v, ann, err := q.LabelNames(ctx, hints, ms...)
		w, _ := ann.AsStrings("", 10, 0)
		return v, w, err
	})
}

func (e *Engine) apiLabelValues(r *http.Request) (any, []string, []string, *apiError) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, nil, nil, badData("invalid label name: %q", name)
	}
	return e.labelQuery(r, func(ctx context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, []string, error) {
		v, ann, err := q.LabelValues(ctx, name, hints, ms...)
		w, _ := ann.AsStrings("", 10, 0)
		return v, w, err
	})
}

func (e *Engine) labelQuery(r *http.Request, get func(context.Context, storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, []string, error)) (any, []string, []string, *apiError) {
	sets, aerr := e.matchers(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	limit, aerr := limitParam(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	q, _, _, aerr := e.querier(r)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: limit}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	uniq := map[string]bool{}
	var warns []string
	for _, ms := range sets {
		vals, w, err := get(r.Context(), q, hints, ms)
		if err != nil {
			return nil, nil, nil, execError(err)
		}
		warns = append(warns, w...)
		for _, v := range vals {
			uniq[v] = true
		}
	}
	out := make([]string, 0, len(uniq))
	for v := range uniq {
		out = append(out, v)
	}
	slices.Sort(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
		warns = append(warns, "results truncated due to limit")
	}
	return out, warns, nil, nil
}

// API shapes of /rules and /alerts, as Prometheus writes them.
type apiAlert struct {
	Labels      labels.Labels `json:"labels"`
	Annotations labels.Labels `json:"annotations"`
	State       string        `json:"state"`
	ActiveAt    *time.Time    `json:"activeAt,omitempty"`
	KeepFiring  *time.Time    `json:"keepFiringSince,omitempty"`
	Value       string        `json:"value"`
}

type apiAlertingRule struct {
	State          string        `json:"state"`
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Duration       float64       `json:"duration"`
	KeepFiringFor  float64       `json:"keepFiringFor"`
	Labels         labels.Labels `json:"labels"`
	Annotations    labels.Labels `json:"annotations"`
	Alerts         []*apiAlert   `json:"alerts"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type apiRecordingRule struct {
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Labels         labels.Labels `json:"labels,omitempty"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type apiRuleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

func toAPIAlerts(alerts []*rules.Alert) []*apiAlert {
	out := make([]*apiAlert, 0, len(alerts))
	for _, a := range alerts {
		aa := &apiAlert{
			Labels: a.Labels, Annotations: a.Annotations, State: a.State.String(),
			Value: strconv.FormatFloat(a.Value, 'e', -1, 64),
		}
		if !a.ActiveAt.IsZero() {
			t := a.ActiveAt
			aa.ActiveAt = &t
		}
		if !a.KeepFiringSince.IsZero() {
			t := a.KeepFiringSince
			aa.KeepFiring = &t
		}
		out = append(out, aa)
	}
	return out
}

func lastErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (e *Engine) apiRules(r *http.Request) (any, []string, []string, *apiError) {
	typ := strings.ToLower(r.Form.Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		return nil, nil, nil, badData("invalid parameter \"type\": %q", typ)
	}
	names := set(r.Form["rule_name[]"])
	groupsWanted := set(r.Form["rule_group[]"])
	filesWanted := set(r.Form["file[]"])
	groups := []apiRuleGroup{}
	for _, g := range e.rules.RuleGroups() {
		if (len(groupsWanted) > 0 && !groupsWanted[g.Name()]) || (len(filesWanted) > 0 && !filesWanted[g.File()]) {
			continue
		}
		ag := apiRuleGroup{
			Name: g.Name(), File: g.File(), Interval: g.Interval().Seconds(), Limit: g.Limit(),
			EvaluationTime: g.GetEvaluationTime().Seconds(), LastEvaluation: g.GetLastEvaluation(), Rules: []any{},
		}
		for _, rule := range g.Rules() {
			if len(names) > 0 && !names[rule.Name()] {
				continue
			}
			switch rule := rule.(type) {
			case *rules.AlertingRule:
				if typ == "record" {
					continue
				}
				ag.Rules = append(ag.Rules, apiAlertingRule{
					State: rule.State().String(), Name: rule.Name(), Query: rule.Query().String(),
					Duration: rule.HoldDuration().Seconds(), KeepFiringFor: rule.KeepFiringFor().Seconds(),
					Labels: rule.Labels(), Annotations: rule.Annotations(), Alerts: toAPIAlerts(rule.ActiveAlerts()),
					Health: string(rule.Health()), LastError: lastErr(rule.LastError()),
					EvaluationTime: rule.GetEvaluationDuration().Seconds(), LastEvaluation: rule.GetEvaluationTimestamp(),
					Type: "alerting",
				})
			case *rules.RecordingRule:
				if typ == "alert" {
					continue
				}
				ag.Rules = append(ag.Rules, apiRecordingRule{
					Name: rule.Name(), Query: rule.Query().String(), Labels: rule.Labels(),
					Health: string(rule.Health()), LastError: lastErr(rule.LastError()),
					EvaluationTime: rule.GetEvaluationDuration().Seconds(), LastEvaluation: rule.GetEvaluationTimestamp(),
					Type: "recording",
				})
			}
		}
		if len(ag.Rules) > 0 || (len(names) == 0 && typ == "") {
			groups = append(groups, ag)
		}
	}
	return map[string]any{"groups": groups}, nil, nil, nil
}

func set(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func (e *Engine) apiAlerts(*http.Request) (any, []string, []string, *apiError) {
	alerts := []*apiAlert{}
	for _, rule := range e.rules.AlertingRules() {
		alerts = append(alerts, toAPIAlerts(rule.ActiveAlerts())...)
	}
	return map[string]any{"alerts": alerts}, nil, nil, nil
}
