package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/daemon"
	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/enforcer"
	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/native"
	"github.com/slokeeper/slokeeper/store"
	"github.com/slokeeper/slokeeper/webui"
)

// RangeQuerier is the part of the Prometheus API the UI and the reports
// read history with (v1.API and the embedded engine satisfy it).
type RangeQuerier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// uiBackend implements webui.Backend over the daemon, the enforcer, the
// store and the Prometheus API.
type uiBackend struct {
	d     *daemon.Daemon
	e     *enforcer.Enforcer
	st    *store.Store
	prom  RangeQuerier
	tiers []slo.Tier
	now   func() time.Time
}

func (b *uiBackend) view(s *slo.SLO, snap budget.Snapshot, now time.Time) webui.SLOView {
	v := webui.SLOView{
		Service: s.Service, Name: s.Name, Team: s.Team, Description: s.Description, Labels: s.Labels,
		Objective: s.Objective, Period: s.Period.String(), SLIKind: s.SLI.Kind.String(),
		ReadAt: snap.ReadAt, Stale: snap.Stale(now, b.d.StaleAfter()), KeptFromLastGood: b.d.Kept(s.ID()),
	}
	if st := snap.Statuses[s.ID()]; st != nil {
		v.BudgetRemaining, v.ErrorRatio, v.BurnRate = st.BudgetRemaining, st.ErrorRatio, st.BurnRate
		for _, a := range st.Alerts {
			v.Alerts = append(v.Alerts, webui.Alert{Name: a.Name, Severity: a.Severity, Tier: a.Tier, Labels: a.Labels})
		}
	}
	return v
}

func (b *uiBackend) SLOs(context.Context) ([]webui.SLOView, error) {
	now := b.now()
	snap := b.d.Snapshot()
	slos := b.d.SLOs()
	out := make([]webui.SLOView, 0, len(slos))
	for i := range slos {
		out = append(out, b.view(&slos[i], snap, now))
	}
	return out, nil
}

func (b *uiBackend) find(service, name string) (slo.SLO, bool) {
	for _, s := range b.d.SLOs() {
		if s.Service == service && s.Name == name {
			return s, true
		}
	}
	return slo.SLO{}, false
}

func (b *uiBackend) SLO(_ context.Context, service, name string) (webui.SLODetail, bool, error) {
	s, ok := b.find(service, name)
	if !ok {
		return webui.SLODetail{}, false, nil
	}
	now := b.now()
	det := webui.SLODetail{SLOView: b.view(&s, b.d.Snapshot(), now), Source: s.Source.File, GroupBy: s.GroupBy}
	if start, end, err := s.Period.Bounds(now); err == nil {
		det.PeriodStart, det.PeriodEnd = start, end
	}
	period := s.Period.Nominal()
	for _, t := range s.Alerting.ResolveTiers(b.tiers) {
		det.Tiers = append(det.Tiers, webui.Tier{
			Name: t.Name, Severity: t.Severity, Long: window(t.Long), Short: window(t.Short),
			Threshold: t.BurnFactor(period), Disabled: t.Disabled,
		})
	}
	if y, err := native.Marshal([]slo.SLO{s}); err == nil {
		det.SpecYAML = string(y)
	}
	if out, err := rules.Generate([]slo.SLO{s}, b.d.RuleOptions()); err == nil {
		if y, err := out.MarshalRuleFile(s.Service); err == nil {
			det.RulesYAML = string(y)
		}
	}
	det.Links = []webui.Link{
		{Title: "SLO dashboard", URL: "/d/" + dashboards.UID(dashboards.KindSLO, s.Service)},
		{Title: "RED dashboard", URL: "/d/" + dashboards.UID(dashboards.KindRED, s.Service)},
		{Title: "Overview", URL: "/d/" + dashboards.UID(dashboards.KindOverview, "")},
	}
	if s.Alerting.Runbook != "" {
		det.Links = append(det.Links, webui.Link{Title: "Runbook", URL: s.Alerting.Runbook})
	}
	return det, true, nil
}

// window renders a duration as the generated rules' slo_window label does.
func window(d time.Duration) string { return model.Duration(d).String() }

func (b *uiBackend) SLOHistory(ctx context.Context, service, name string, from, to time.Time) (webui.History, error) {
	var h webui.History
	if b.prom == nil {
		return h, errors.New("no Prometheus to read history from")
	}
	s, ok := b.find(service, name)
	if !ok {
		return h, fmt.Errorf("no SLO %s/%s", service, name)
	}
	step := max(time.Minute, to.Sub(from)/300).Truncate(time.Minute)
	sel := fmt.Sprintf(`%s=%q,%s=%q`, rules.LabelService, service, rules.LabelSLO, name)
	r := v1.Range{Start: from, End: to, Step: step}
	var err error
	if h.Budget, err = b.series(ctx, fmt.Sprintf(`min(%s{%s})`, rules.MetricBudgetRemaining, sel), r); err != nil {
		return h, err
	}
	if h.SLI, err = b.series(ctx, fmt.Sprintf(`1 - max(%s{%s,%s="1h"})`, rules.MetricErrorRatio, sel, rules.LabelWindow), r); err != nil {
		return h, err
	}
	h.BurnRate = map[string][]webui.Point{}
	seen := map[string]bool{}
	for _, t := range s.Alerting.ResolveTiers(b.tiers) {
		w := window(t.Long)
		if t.Disabled || seen[w] {
			continue
		}
		seen[w] = true
		pts, err := b.series(ctx, fmt.Sprintf(`max(%s{%s,%s=%q})`, rules.MetricBurnRate, sel, rules.LabelWindow, w), r)
		if err != nil {
			return h, err
		}
		h.BurnRate[w] = pts
	}
	return h, nil
}

func (b *uiBackend) series(ctx context.Context, q string, r v1.Range) ([]webui.Point, error) {
	v, _, _, err := b.prom.QueryRange(ctx, q, r)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", q, err)
	}
	m, ok := v.(model.Matrix)
	if !ok || len(m) == 0 {
		return nil, nil
	}
	out := make([]webui.Point, 0, len(m[0].Values))
	for _, p := range m[0].Values {
		out = append(out, webui.Point{T: p.Timestamp.Time(), V: float64(p.Value)})
	}
	return out, nil
}

func freezeState(s enforcer.ServiceState) webui.FreezeState {
	f := webui.FreezeState{Frozen: s.Frozen, Sources: s.Sources, Reasons: s.Reasons}
	if s.Since != nil {
		f.Since = *s.Since
	}
	if s.Until != nil {
		f.Until = *s.Until
	}
	return f
}

func (b *uiBackend) Services(context.Context) ([]webui.ServiceView, error) {
	snap := b.d.Snapshot()
	states := map[string]enforcer.ServiceState{}
	for _, s := range b.e.Services() {
		states[s.Service] = s
	}
	by := map[string]*webui.ServiceView{}
	teams := map[string]map[string]bool{}
	for _, s := range b.d.SLOs() {
		v := by[s.Service]
		if v == nil {
			v = &webui.ServiceView{Name: s.Service, Freeze: freezeState(states[s.Service])}
			by[s.Service], teams[s.Service] = v, map[string]bool{}
		}
		v.SLOs++
		if s.Team != "" {
			teams[s.Service][s.Team] = true
		}
		if st := snap.Statuses[s.ID()]; st != nil {
			v.FiringAlerts += len(st.Alerts)
			if x := st.BudgetRemaining; x != nil && (v.MinBudget == nil || *x < *v.MinBudget) {
				c := *x
				v.MinBudget = &c
			}
		}
	}
	out := make([]webui.ServiceView, 0, len(by))
	for _, name := range slo.SortedKeys(by) {
		v := by[name]
		v.Teams = slo.SortedKeys(teams[name])
		out = append(out, *v)
	}
	return out, nil
}

func (b *uiBackend) Service(ctx context.Context, name string) (webui.ServiceDetail, bool, error) {
	svcs, _ := b.Services(ctx)
	var det webui.ServiceDetail
	found := false
	for _, v := range svcs {
		if v.Name == name {
			det.ServiceView, found = v, true
		}
	}
	if !found {
		return det, false, nil
	}
	now := b.now()
	snap := b.d.Snapshot()
	slos := b.d.SLOs()
	for i := range slos {
		if slos[i].Service == name {
			det.SLOList = append(det.SLOList, b.view(&slos[i], snap, now))
		}
	}
	hist, err := b.st.History(ctx, store.HistoryQuery{Service: name, Limit: 50})
	if err != nil {
		return det, true, err
	}
	for _, h := range hist {
		d := webui.Decision{At: h.At, Kind: h.Kind, Sources: h.Sources, Reasons: h.Reasons}
		if len(h.Budget) > 0 {
			_, low := lowest(h.Budget)
			d.Budget = &low
		}
		det.History = append(det.History, d)
	}
	ms, err := b.st.ManualHistory(ctx, name, 20)
	if err != nil {
		return det, true, err
	}
	for _, m := range ms {
		mf := webui.ManualFreeze{Author: m.Author, Reason: m.Reason, Start: m.Start, LiftedBy: m.EndedBy}
		if m.Action == freeze.ActionUnfreeze {
			mf.Reason = "override (unfreeze): " + m.Reason
		}
		if m.Until != nil {
			mf.Until = *m.Until
		}
		if m.EndedAt != nil {
			mf.LiftedAt = *m.EndedAt
		}
		mf.Active = m.EndedAt == nil && (m.Until == nil || m.Until.After(now))
		det.ManualFreezes = append(det.ManualFreezes, mf)
	}
	return det, true, nil
}

func lowest(m map[string]float64) (string, float64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	name, v := "", 0.0
	for i, k := range keys {
		if i == 0 || m[k] < v {
			name, v = k, m[k]
		}
	}
	return name, v
}

// StartFreeze and StopFreeze go through the enforcer's API checks.
func (b *uiBackend) StartFreeze(ctx context.Context, token string, req webui.FreezeRequest) error {
	var until *time.Time
	if !req.Until.IsZero() {
		until = &req.Until
	}
	_, err := b.e.StartManual(ctx, token, req.Service, freeze.ActionFreeze, req.Reason, req.Author, until)
	return mapErr(err)
}

func (b *uiBackend) StopFreeze(ctx context.Context, token string, req webui.UnfreezeRequest) error {
	return mapErr(b.e.StopManual(ctx, token, req.Service, req.Author, req.Reason))
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, enforcer.ErrUnauthorized):
		return webui.ErrUnauthorized
	case errors.Is(err, enforcer.ErrInvalid), errors.Is(err, enforcer.ErrNotFound), errors.Is(err, enforcer.ErrDisabled):
		return fmt.Errorf("%w: %s", webui.ErrInvalid, err.Error())
	default:
		return err
	}
}
