package webui

import (
	"cmp"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// listFilter is the SLO list's query: every field is a query parameter.
type listFilter struct {
	// Q is free text: every word of it must appear in the service, name,
	// team, description or labels, case-insensitively.
	Q string
	// Service and Team match exactly.
	Service string
	Team    string
	// Label is "name=value" (exact) or "name" (label present).
	Label string
	// Sort is budget (least left first), name or burn (fastest first).
	Sort string
}

var sortOrders = []string{"budget", "name", "burn"}

func parseListFilter(q url.Values) (listFilter, string) {
	f := listFilter{
		Q:       strings.TrimSpace(q.Get("q")),
		Service: q.Get("service"),
		Team:    q.Get("team"),
		Label:   strings.TrimSpace(q.Get("label")),
		Sort:    q.Get("sort"),
	}
	if f.Sort == "" {
		f.Sort = "budget"
	}
	if !slices.Contains(sortOrders, f.Sort) {
		return f, "sort must be one of budget, name or burn"
	}
	if len(f.Q) > 200 || len(f.Label) > 200 {
		return f, "search text and label filter are limited to 200 characters"
	}
	return f, ""
}

func (f listFilter) match(s SLOView) bool {
	if f.Service != "" && s.Service != f.Service {
		return false
	}
	if f.Team != "" && s.Team != f.Team {
		return false
	}
	if f.Label != "" {
		k, v, hasValue := strings.Cut(f.Label, "=")
		got, ok := s.Labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	text := searchText(s)
	for _, term := range strings.Fields(strings.ToLower(f.Q)) {
		if !strings.Contains(text, term) {
			return false
		}
	}
	return true
}

// searchText is what free-text search matches, lower case; the page puts
// it on each row for the instant search script, which must match the same.
func searchText(s SLOView) string {
	parts := []string{s.Service, s.Name, s.Service + "/" + s.Name, s.Team, s.Description}
	for _, l := range sortedLabels(s.Labels) {
		parts = append(parts, l.String())
	}
	return strings.ToLower(strings.Join(parts, " "))
}

func sortSLOs(slos []SLOView, by string) {
	byName := func(a, b SLOView) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Name, b.Name))
	}
	switch by {
	case "budget": // least budget left first, no data last
		key := func(s SLOView) float64 {
			if s.BudgetRemaining == nil || !finite(*s.BudgetRemaining) {
				return math.Inf(1)
			}
			return *s.BudgetRemaining
		}
		slices.SortStableFunc(slos, func(a, b SLOView) int { return cmp.Or(cmp.Compare(key(a), key(b)), byName(a, b)) })
	case "burn": // fastest burn first, no data last
		key := func(s SLOView) float64 {
			if m := maxBurn(s); m.OK {
				return m.Value
			}
			return math.Inf(-1)
		}
		slices.SortStableFunc(slos, func(a, b SLOView) int { return cmp.Or(cmp.Compare(key(b), key(a)), byName(a, b)) })
	default:
		slices.SortStableFunc(slos, byName)
	}
}

type sloRow struct {
	SLOView
	Search string
}

type listPage struct {
	Filter listFilter
	Error  string
	Rows   []sloRow
	Total  int
	// Choices of the filter selects.
	Services, Teams, Labels []string
	Sorts                   []string
	// Summary over the shown rows.
	Exhausted, Firing int
	// ReadAt is the newest status read; Stale counts the SLOs whose
	// status is stale, StaleSince is the oldest read among them.
	ReadAt     time.Time
	Stale      int
	StaleSince time.Time
}

func (u *ui) listSLOs(w http.ResponseWriter, r *http.Request) {
	f, problem := parseListFilter(r.URL.Query())
	all, err := u.b.SLOs(r.Context())
	if err != nil {
		u.backendError(w, r, "list the SLOs", err)
		return
	}
	p := listPage{Filter: f, Error: problem, Total: len(all), Sorts: sortOrders}
	services, teams, labels := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range all {
		services[s.Service] = true
		if s.Team != "" {
			teams[s.Team] = true
		}
		for k, v := range s.Labels {
			labels[k+"="+v] = true
		}
		if s.ReadAt.After(p.ReadAt) {
			p.ReadAt = s.ReadAt
		}
		if s.Stale {
			p.Stale++
			if p.StaleSince.IsZero() || s.ReadAt.Before(p.StaleSince) {
				p.StaleSince = s.ReadAt
			}
		}
	}
	p.Services, p.Teams, p.Labels = sortedSet(services), sortedSet(teams), sortedSet(labels)
	code := http.StatusOK
	if problem != "" {
		code = http.StatusBadRequest
	} else {
		var shown []SLOView
		for _, s := range all {
			if f.match(s) {
				shown = append(shown, s)
			}
		}
		sortSLOs(shown, f.Sort)
		for _, s := range shown {
			p.Rows = append(p.Rows, sloRow{SLOView: s, Search: searchText(s)})
			if s.BudgetRemaining != nil && *s.BudgetRemaining <= 0 {
				p.Exhausted++
			}
			if len(s.Alerts) > 0 {
				p.Firing++
			}
		}
	}
	u.render(w, r, code, "slos", "SLOs", "slos", p)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type tierRow struct {
	Tier
	LongBurn, ShortBurn   float64
	HasLong, HasShort     bool
	LongClass, ShortClass string
	Burning               bool
}

type sloPage struct {
	SLODetail
	SLI         float64
	SLIBelow    bool
	Tiers       []tierRow
	OtherBurns  []burnAt
	Links       []Link
	Charts      []chartView
	ChartsError string
}

type chartView struct {
	ID  string
	SVG template.HTML
}

func (u *ui) showSLO(w http.ResponseWriter, r *http.Request) {
	service, name := r.PathValue("service"), r.PathValue("name")
	d, ok, err := u.b.SLO(r.Context(), service, name)
	if err != nil {
		u.backendError(w, r, "read the SLO", err)
		return
	}
	if !ok {
		u.renderError(w, r, http.StatusNotFound, "There is no SLO "+service+"/"+name+".")
		return
	}
	p := sloPage{SLODetail: d, SLI: sliValue(d.SLOView), Links: u.links(d.Links)}
	p.SLIBelow = finite(p.SLI) && p.SLI < d.Objective/100
	inTier := map[string]bool{}
	for _, t := range d.Tiers {
		row := tierRow{Tier: t}
		row.LongBurn, row.HasLong = d.BurnRate[t.Long]
		row.ShortBurn, row.HasShort = d.BurnRate[t.Short]
		row.LongClass, row.ShortClass = "none", "none"
		if row.HasLong {
			row.LongClass = burnClass(row.LongBurn, t.Threshold)
		}
		if row.HasShort {
			row.ShortClass = burnClass(row.ShortBurn, t.Threshold)
		}
		row.Burning = !t.Disabled && row.HasLong && row.HasShort && row.LongBurn >= t.Threshold && row.ShortBurn >= t.Threshold
		inTier[t.Long], inTier[t.Short] = true, true
		p.Tiers = append(p.Tiers, row)
	}
	for _, win := range sortedWindows(d.BurnRate) {
		if !inTier[win] && win != "period" {
			p.OtherBurns = append(p.OtherBurns, burnAt{Window: win, Value: d.BurnRate[win], OK: true})
		}
	}

	now := u.now()
	from, to := d.PeriodStart, now
	if !d.PeriodEnd.IsZero() && d.PeriodEnd.Before(to) {
		to = d.PeriodEnd
	}
	if from.IsZero() || !from.Before(to) {
		from = to.Add(-7 * 24 * time.Hour)
	}
	h, err := u.b.SLOHistory(r.Context(), service, name, from, to)
	if err != nil {
		u.log.ErrorContext(r.Context(), "reading SLO history for charts", "slo", d.ID(), "err", err)
		p.ChartsError = "The chart data could not be read; the error is in the daemon's log."
		h = History{}
	}
	charts, err := sloCharts(d, h, from, to)
	if err != nil {
		u.log.ErrorContext(r.Context(), "drawing SLO charts", "slo", d.ID(), "err", err)
		p.ChartsError = "The charts could not be drawn; the error is in the daemon's log."
	}
	p.Charts = charts
	u.render(w, r, http.StatusOK, "slo", d.Service+"/"+d.Name, "slos", p)
}

// links resolves dashboard links against the Grafana URL; only http and
// https URLs are kept.
func (u *ui) links(in []Link) []Link {
	var out []Link
	for _, l := range in {
		target, err := url.Parse(l.URL)
		if err != nil {
			continue
		}
		switch {
		case target.Scheme == "http" || target.Scheme == "https":
			if target.Host == "" {
				continue
			}
		case target.Scheme == "" && target.Host == "" && strings.HasPrefix(target.Path, "/"):
			if u.grafana == nil {
				continue
			}
			abs := *u.grafana
			abs.Path = strings.TrimRight(u.grafana.Path, "/") + target.Path
			abs.RawPath = ""
			abs.RawQuery = target.RawQuery
			abs.Fragment = target.Fragment
			target = &abs
		default:
			continue
		}
		out = append(out, Link{Title: cmp.Or(l.Title, target.String()), URL: target.String()})
	}
	return out
}

type servicesPage struct {
	Services []ServiceView
	Frozen   int
}

func (u *ui) listServices(w http.ResponseWriter, r *http.Request) {
	svcs, err := u.b.Services(r.Context())
	if err != nil {
		u.backendError(w, r, "list the services", err)
		return
	}
	// frozen first, then by name
	slices.SortStableFunc(svcs, func(a, b ServiceView) int {
		if a.Freeze.Frozen != b.Freeze.Frozen {
			if a.Freeze.Frozen {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	p := servicesPage{Services: svcs}
	for _, s := range svcs {
		if s.Freeze.Frozen {
			p.Frozen++
		}
	}
	u.render(w, r, http.StatusOK, "services", "Services", "services", p)
}

type servicePage struct {
	ServiceDetail
	// Flash is the result of the last form post ("frozen", "unfrozen").
	Flash string
	// Form is the freeze form's input and its error.
	Form freezeForm
}

// freezeForm is what the freeze and unfreeze forms posted; the token is
// never kept.
type freezeForm struct {
	// Action is "freeze" or "unfreeze".
	Action string
	Reason string
	Author string
	Until  string
	Error  string
}

func (u *ui) showService(w http.ResponseWriter, r *http.Request) {
	var flash string
	switch r.URL.Query().Get("done") {
	case "freeze":
		flash = "The service is frozen."
	case "unfreeze":
		flash = "The manual freeze is lifted."
	}
	u.renderService(w, r, http.StatusOK, r.PathValue("name"), flash, freezeForm{})
}

func (u *ui) renderService(w http.ResponseWriter, r *http.Request, code int, name, flash string, form freezeForm) {
	d, ok, err := u.b.Service(r.Context(), name)
	if err != nil {
		u.backendError(w, r, "read the service", err)
		return
	}
	if !ok {
		u.renderError(w, r, http.StatusNotFound, "There is no service "+name+".")
		return
	}
	sortSLOs(d.SLOList, "budget")
	u.render(w, r, code, "service", d.Name, "services", servicePage{ServiceDetail: d, Flash: flash, Form: form})
}
