package webui

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Hostile strings: every user-controlled text of the fixture has one.
const (
	hostileScript = `<script>alert(1)</script>`
	hostileAttr   = `"'><img src=x onerror=alert(1)>`
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)

const testToken = "s3cret-freeze-token"

// fakeBackend is an in-memory Backend with a realistic fixture.
type fakeBackend struct {
	mu       sync.Mutex
	now      time.Time
	slos     []SLODetail
	history  map[string]History
	services map[string]*ServiceDetail
	// err, when set, is returned by every read; historyErr by SLOHistory.
	err        error
	historyErr error
	// freezeErr, when set, is returned by StartFreeze and StopFreeze
	// after the token check.
	freezeErr error
	// calls counts the successful freeze changes.
	calls int
}

func (f *fakeBackend) SLOs(context.Context) ([]SLOView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make([]SLOView, len(f.slos))
	for i, s := range f.slos {
		out[i] = s.SLOView
	}
	return out, nil
}

func (f *fakeBackend) SLO(_ context.Context, service, name string) (SLODetail, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return SLODetail{}, false, f.err
	}
	for _, s := range f.slos {
		if s.Service == service && s.Name == name {
			return s, true, nil
		}
	}
	return SLODetail{}, false, nil
}

func (f *fakeBackend) SLOHistory(_ context.Context, service, name string, from, to time.Time) (History, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return History{}, f.err
	}
	if f.historyErr != nil {
		return History{}, f.historyErr
	}
	h := f.history[service+"/"+name]
	in := func(ps []Point) []Point {
		var out []Point
		for _, p := range ps {
			if !p.T.Before(from) && !p.T.After(to) {
				out = append(out, p)
			}
		}
		return out
	}
	out := History{Budget: in(h.Budget), SLI: in(h.SLI), BurnRate: map[string][]Point{}}
	for w, ps := range h.BurnRate {
		out.BurnRate[w] = in(ps)
	}
	return out, nil
}

func (f *fakeBackend) Services(context.Context) ([]ServiceView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []ServiceView
	for _, name := range slices.Sorted(maps.Keys(f.services)) {
		out = append(out, f.service(name).ServiceView)
	}
	return out, nil
}

func (f *fakeBackend) Service(_ context.Context, name string) (ServiceDetail, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return ServiceDetail{}, false, f.err
	}
	if _, ok := f.services[name]; !ok {
		return ServiceDetail{}, false, nil
	}
	return f.service(name), true, nil
}

// service fills in the SLO-derived fields; f.mu is held.
func (f *fakeBackend) service(name string) ServiceDetail {
	d := *f.services[name]
	d.Name = name
	d.SLOList, d.Teams, d.SLOs, d.MinBudget, d.FiringAlerts = nil, nil, 0, nil, 0
	teams := map[string]bool{}
	for _, s := range f.slos {
		if s.Service != name {
			continue
		}
		d.SLOList = append(d.SLOList, s.SLOView)
		d.SLOs++
		d.FiringAlerts += len(s.Alerts)
		if s.Team != "" {
			teams[s.Team] = true
		}
		if b := s.BudgetRemaining; b != nil && (d.MinBudget == nil || *b < *d.MinBudget) {
			d.MinBudget = b
		}
	}
	d.Teams = slices.Sorted(maps.Keys(teams))
	d.Freeze.Sources = slices.Clone(d.Freeze.Sources)
	d.Freeze.Reasons = slices.Clone(d.Freeze.Reasons)
	d.History = slices.Clone(d.History)
	d.ManualFreezes = slices.Clone(d.ManualFreezes)
	return d
}

func (f *fakeBackend) StartFreeze(_ context.Context, token string, req FreezeRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token != testToken {
		return fmt.Errorf("starting freeze: %w", ErrUnauthorized)
	}
	if f.freezeErr != nil {
		return f.freezeErr
	}
	s, ok := f.services[req.Service]
	if !ok {
		return fmt.Errorf("%w: unknown service %q", ErrInvalid, req.Service)
	}
	f.calls++
	reason := "manual: " + req.Reason + " (" + req.Author + ")"
	if !s.Freeze.Frozen {
		s.Freeze.Since = f.now
	}
	s.Freeze.Frozen = true
	if !slices.Contains(s.Freeze.Sources, "manual") {
		s.Freeze.Sources = append(s.Freeze.Sources, "manual")
	}
	s.Freeze.Reasons = append(s.Freeze.Reasons, reason)
	s.Freeze.Until = req.Until
	s.ManualFreezes = append([]ManualFreeze{{Author: req.Author, Reason: req.Reason, Start: f.now, Until: req.Until, Active: true}}, s.ManualFreezes...)
	s.History = append([]Decision{{At: f.now, Kind: "freeze", Sources: slices.Clone(s.Freeze.Sources), Reasons: []string{reason}}}, s.History...)
	return nil
}

func (f *fakeBackend) StopFreeze(_ context.Context, token string, req UnfreezeRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token != testToken {
		return fmt.Errorf("stopping freeze: %w", ErrUnauthorized)
	}
	if f.freezeErr != nil {
		return f.freezeErr
	}
	s, ok := f.services[req.Service]
	if !ok {
		return fmt.Errorf("%w: unknown service %q", ErrInvalid, req.Service)
	}
	f.calls++
	for i := range s.ManualFreezes {
		if s.ManualFreezes[i].Active {
			s.ManualFreezes[i].Active = false
			s.ManualFreezes[i].LiftedBy = req.Author
			s.ManualFreezes[i].LiftedAt = f.now
		}
	}
	s.Freeze.Sources = slices.DeleteFunc(s.Freeze.Sources, func(x string) bool { return x == "manual" })
	s.Freeze.Reasons = slices.DeleteFunc(s.Freeze.Reasons, func(x string) bool { return strings.HasPrefix(x, "manual: ") })
	if len(s.Freeze.Sources) == 0 {
		s.Freeze = FreezeState{Since: f.now}
		s.History = append([]Decision{{At: f.now, Kind: "unfreeze", Sources: []string{"manual"}, Reasons: []string{"lifted by " + req.Author + ": " + req.Reason}}}, s.History...)
	}
	return nil
}

// frozen reports a service's freeze state.
func (f *fakeBackend) frozen(service string) FreezeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services[service].Freeze
}

func ptr[T any](v T) *T { return &v }

// sloSpec is what the fixture generator needs of one SLO.
type sloSpec struct {
	service, name, team, description, sliKind string
	labels                                    map[string]string
	objective                                 float64
	// base is the typical error ratio as a share of the allowed one (0.5:
	// burning at half the sustainable pace); incidents add bursts.
	base      float64
	incidents []incident
	stale     bool
	noData    bool
	alerts    []Alert
}

type incident struct {
	at    time.Duration // before testNow
	dur   time.Duration
	burns float64 // burn rate during the incident
}

var defaultTiers = []Tier{
	{Name: "page-fast", Severity: "critical", Long: "1h", Short: "5m", Threshold: 13.44},
	{Name: "page-slow", Severity: "critical", Long: "6h", Short: "30m", Threshold: 5.6},
	{Name: "ticket-fast", Severity: "warning", Long: "1d", Short: "2h", Threshold: 2.8},
	{Name: "ticket-slow", Severity: "warning", Long: "3d", Short: "6h", Threshold: 0.93},
}

// newFake builds the fixture: a handful of realistic SLOs over four
// services, with 28 days of hourly history; hostile adds an SLO and a
// service whose every text is an injection attempt.
func newFake(hostile bool) *fakeBackend {
	specs := []sloSpec{
		{service: "checkout", name: "availability", team: "payments", sliKind: "ratio", objective: 99.9,
			description: "Share of checkout API requests that do not fail with a 5xx.",
			labels:      map[string]string{"tier": "1", "journey": "purchase"}, base: 0.6,
			incidents: []incident{{at: 9 * 24 * time.Hour, dur: 5 * time.Hour, burns: 14}, {at: 2 * time.Hour, dur: 3 * time.Hour, burns: 16}},
			alerts:    []Alert{{Name: "SLOBurnRateCritical", Severity: "critical", Tier: "page-fast", Labels: map[string]string{"route": "/api/pay"}}}},
		{service: "checkout", name: "latency", team: "payments", sliKind: "latency", objective: 99,
			description: "Checkout requests served within 300ms.",
			labels:      map[string]string{"tier": "1", "journey": "purchase"}, base: 0.45,
			incidents: []incident{{at: 16 * 24 * time.Hour, dur: 10 * time.Hour, burns: 4}}},
		{service: "search", name: "availability", team: "discovery", sliKind: "ratio", objective: 99.5,
			labels: map[string]string{"tier": "2"}, base: 0.2},
		{service: "search", name: "freshness", team: "discovery", sliKind: "query", objective: 99,
			labels: map[string]string{"tier": "2"}, base: 1.25, stale: true,
			incidents: []incident{{at: 20 * 24 * time.Hour, dur: 30 * time.Hour, burns: 6}}},
		{service: "auth", name: "login-success", team: "identity", sliKind: "ratio", objective: 99.95,
			labels: map[string]string{"tier": "0"}, base: 0.1},
		{service: "auth", name: "token-latency", team: "identity", sliKind: "latency", objective: 99.9,
			labels: map[string]string{"tier": "0"}, base: 0.35,
			incidents: []incident{{at: 2 * 24 * time.Hour, dur: 6 * time.Hour, burns: 3}}},
		{service: "inventory", name: "apiserver-up", team: "platform", sliKind: "availability", objective: 99.95, noData: true},
	}
	if hostile {
		specs = append(specs, sloSpec{service: hostileScript, name: hostileAttr, team: hostileScript, sliKind: hostileAttr,
			description: hostileAttr + hostileScript, objective: 99.9, base: 2,
			labels: map[string]string{hostileScript: hostileAttr, "x": hostileScript},
			alerts: []Alert{{Name: hostileScript, Severity: hostileAttr, Tier: hostileScript, Labels: map[string]string{hostileAttr: hostileScript}}}})
	}
	f := &fakeBackend{now: testNow, history: map[string]History{}, services: map[string]*ServiceDetail{}}
	for _, sp := range specs {
		d, h := generate(sp)
		f.slos = append(f.slos, d)
		f.history[d.ID()] = h
		if f.services[sp.service] == nil {
			f.services[sp.service] = &ServiceDetail{}
		}
	}
	day := 24 * time.Hour
	f.services["checkout"].Freeze = FreezeState{Frozen: true, Sources: []string{"budget", "incident"},
		Reasons: []string{"checkout/availability: error budget 28.4% left, below the 30% freeze threshold", "PagerDuty incident P123ABC (high urgency) open on checkout"},
		Since:   testNow.Add(-3 * time.Hour)}
	f.services["checkout"].History = []Decision{
		{At: testNow.Add(-3 * time.Hour), Kind: "freeze", Sources: []string{"budget", "incident"}, Reasons: []string{"error budget below 30%", "PagerDuty incident P123ABC opened"}, Budget: ptr(0.284)},
		{At: testNow.Add(-8 * day), Kind: "unfreeze", Sources: []string{"budget"}, Reasons: []string{"error budget back above 40%"}, Budget: ptr(0.41)},
		{At: testNow.Add(-9 * day), Kind: "freeze", Sources: []string{"budget"}, Reasons: []string{"error budget below 30%"}, Budget: ptr(0.29)},
	}
	f.services["search"].Freeze = FreezeState{Frozen: true, Sources: []string{"schedule"}, Reasons: []string{"scheduled freeze: spring sale"},
		Since: testNow.Add(-26 * time.Hour), Until: testNow.Add(46 * time.Hour)}
	f.services["search"].History = []Decision{{At: testNow.Add(-26 * time.Hour), Kind: "freeze", Sources: []string{"schedule"}, Reasons: []string{"scheduled freeze: spring sale"}}}
	f.services["auth"].Freeze = FreezeState{Since: testNow.Add(-12 * day)}
	f.services["auth"].ManualFreezes = []ManualFreeze{{Author: "dana", Reason: "database migration", Start: testNow.Add(-13 * day), Until: testNow.Add(-12 * day), Active: false}}
	f.services["auth"].History = []Decision{
		{At: testNow.Add(-12 * day), Kind: "unfreeze", Sources: []string{"manual"}, Reasons: []string{"manual freeze expired"}},
		{At: testNow.Add(-13 * day), Kind: "freeze", Sources: []string{"manual"}, Reasons: []string{"manual: database migration (dana)"}},
	}
	if hostile {
		s := f.services[hostileScript]
		s.Freeze = FreezeState{Frozen: true, Sources: []string{hostileScript, "manual"}, Reasons: []string{hostileAttr, hostileScript}, Since: testNow.Add(-time.Hour), Until: testNow.Add(time.Hour)}
		s.ManualFreezes = []ManualFreeze{{Author: hostileAttr, Reason: hostileScript, Start: testNow.Add(-time.Hour), Active: true}, {Author: hostileScript, Reason: hostileAttr, Start: testNow.Add(-48 * time.Hour), Active: false, LiftedBy: hostileAttr, LiftedAt: testNow.Add(-47 * time.Hour)}}
		s.History = []Decision{{At: testNow.Add(-time.Hour), Kind: hostileScript, Sources: []string{hostileAttr}, Reasons: []string{hostileScript, hostileAttr}}}
	}
	return f
}

// generate derives an SLO's status and 28 days of hourly history from a
// synthetic error ratio: a daily wave around the base burn, plus incidents.
func generate(sp sloSpec) (SLODetail, History) {
	const period = 28 * 24 * time.Hour
	start := testNow.Add(-period)
	allowed := 1 - sp.objective/100
	burnAt := func(t time.Time) float64 {
		age := testNow.Sub(t)
		b := sp.base * (1 + 0.35*math.Sin(float64(t.Unix())/86400*2*math.Pi))
		for _, in := range sp.incidents {
			if age <= in.at && age > in.at-in.dur {
				b += in.burns
			}
		}
		return b
	}
	d := SLODetail{
		SLOView: SLOView{
			Service: sp.service, Name: sp.name, Team: sp.team, Description: sp.description, Labels: sp.labels,
			Objective: sp.objective, Period: "28d", SLIKind: sp.sliKind, Alerts: sp.alerts,
			ReadAt: testNow.Add(-20 * time.Second), Stale: sp.stale,
		},
		Source:      "slos/" + sp.service + ".yaml:12",
		PeriodStart: start, PeriodEnd: testNow,
		Tiers:     defaultTiers,
		SpecYAML:  fmt.Sprintf("apiVersion: slokeeper.io/v1\nkind: ServiceLevelObjectives\nmetadata:\n  service: %s\n  team: %s\nspec:\n  window: 28d\n  slos:\n  - name: %s\n    objective: %g\n    description: %q\n", sp.service, sp.team, sp.name, sp.objective, sp.description),
		RulesYAML: fmt.Sprintf("groups:\n- name: slokeeper-%s\n  rules:\n  - record: slo:sli_error:ratio_rate5m\n    expr: sum(rate(http_requests_total{job=%q,code=~\"5..\"}[5m])) / sum(rate(http_requests_total{job=%q}[5m]))\n    labels:\n      slo: %s\n  - alert: SLOBurnRateCritical\n    expr: slo:burn_rate:ratio{slo=%q,slo_window=\"1h\"} > 13.44 and slo:burn_rate:ratio{slo=%q,slo_window=\"5m\"} > 13.44\n", sp.service, sp.service, sp.service, sp.name, sp.name, sp.name),
		Links:     []Link{{Title: "SLO dashboard", URL: "/d/slo-" + sp.service + "/slo"}, {Title: "RED: " + sp.service, URL: "/d/red-" + sp.service}},
	}
	if sp.stale {
		d.ReadAt = testNow.Add(-12 * time.Minute)
	}
	if sp.service == hostileScript {
		d.Links = append(d.Links, Link{Title: hostileScript, URL: "javascript:alert(1)"}, Link{Title: hostileAttr, URL: "https://grafana.example.com/d/x?q=" + hostileAttr})
		d.Tiers = append(slices.Clone(defaultTiers), Tier{Name: hostileScript, Severity: hostileAttr, Long: hostileAttr, Short: hostileScript, Threshold: 2})
		d.Source = hostileScript + ":1"
		d.GroupBy = []string{hostileAttr}
	}
	if sp.noData {
		return d, History{}
	}
	var h History
	h.BurnRate = map[string][]Point{}
	var hourly []float64
	spent := 0.0
	for t := start; !t.After(testNow); t = t.Add(time.Hour) {
		b := burnAt(t)
		hourly = append(hourly, b)
		spent += b / float64(period/time.Hour)
		h.Budget = append(h.Budget, Point{T: t, V: 1 - spent})
		h.SLI = append(h.SLI, Point{T: t, V: 1 - b*allowed})
		for _, w := range []struct {
			name  string
			hours int
		}{{"1h", 1}, {"6h", 6}, {"1d", 24}, {"3d", 72}} {
			n := min(w.hours, len(hourly))
			sum := 0.0
			for _, x := range hourly[len(hourly)-n:] {
				sum += x
			}
			h.BurnRate[w.name] = append(h.BurnRate[w.name], Point{T: t, V: sum / float64(n)})
		}
	}
	d.BudgetRemaining = ptr(1 - spent)
	d.ErrorRatio = map[string]float64{"period": spent * allowed, "5m": burnAt(testNow) * allowed}
	d.BurnRate = map[string]float64{"5m": burnAt(testNow), "30m": burnAt(testNow), "2h": burnAt(testNow)}
	for w, ps := range h.BurnRate {
		d.BurnRate[w] = ps[len(ps)-1].V
	}
	avg := func(hours int) float64 {
		sum := 0.0
		for _, x := range hourly[len(hourly)-hours:] {
			sum += x
		}
		return sum / float64(hours)
	}
	d.BurnRate["6h"] = avg(6)
	d.BurnRate["2h"] = avg(2)
	d.BurnRate["period"] = spent
	return d, h
}
