package dashboards

import (
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/slo"
)

// Convention is an instrumentation convention RED panels know: which
// counter counts requests, which labels hold the status and the route, and
// which histogram times the requests.
type Convention struct {
	Name string
	// Requests is the request counter (for OpenTelemetry, the histogram's
	// _count series).
	Requests string
	// Duration is the request duration histogram, without _bucket.
	Duration string
	// Status and Route are the label names of the response status and of
	// the route (handler, path, ingress, ...).
	Status, Route string
	// ErrorMatcher selects failed requests when the SLO does not say.
	ErrorMatcher string
	// DurationMatchers are added to duration queries (e.g. to leave out
	// long-lived streaming requests).
	DurationMatchers []string
}

// Conventions are the instrumentation conventions RED dashboards
// recognise, by the request counter or histogram name the SLOs use.
var Conventions = []Convention{
	{Name: "OpenTelemetry HTTP", Requests: "http_server_request_duration_seconds_count", Duration: "http_server_request_duration_seconds",
		Status: "http_response_status_code", Route: "http_route", ErrorMatcher: `http_response_status_code=~"5.."`},
	{Name: "Prometheus HTTP", Requests: "http_requests_total", Duration: "http_request_duration_seconds",
		Status: "code", Route: "handler", ErrorMatcher: `code=~"5.."`},
	{Name: "Kubernetes API server", Requests: "apiserver_request_total", Duration: "apiserver_request_duration_seconds",
		Status: "code", Route: "resource", ErrorMatcher: `code=~"5.."`, DurationMatchers: []string{`verb!~"WATCH|CONNECT"`}},
	{Name: "NGINX ingress controller", Requests: "nginx_ingress_controller_requests", Duration: "nginx_ingress_controller_request_duration_seconds",
		Status: "status", Route: "ingress", ErrorMatcher: `status=~"5.."`},
	{Name: "CoreDNS", Requests: "coredns_dns_responses_total", Duration: "coredns_dns_request_duration_seconds",
		Status: "rcode", Route: "zone", ErrorMatcher: `rcode="SERVFAIL"`},
	{Name: "gRPC server", Requests: "grpc_server_handled_total", Duration: "grpc_server_handling_seconds",
		Status: "grpc_code", Route: "grpc_method", ErrorMatcher: `grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"`},
}

// legacyRouteLabels are the route label names of the classic Prometheus
// client conventions, in order of preference when an SLO mentions one.
var legacyRouteLabels = []string{"handler", "route", "path", "endpoint", "uri", "url"}

// statusLabels are label names that hold a response status.
var statusLabels = map[string]bool{
	"code": true, "status": true, "status_code": true, "http_status": true, "http_status_code": true,
	"http_response_status_code": true, "rcode": true, "grpc_code": true, "response_code": true,
}

// redSource is one request stream of a service, as its SLOs read it.
type redSource struct {
	conv *Convention
	// requests is the counter, native when it is a native histogram.
	requests string
	native   bool
	base     []string // matchers of the total selector, rendered
	// errors: either errMatchers added to the base, or a selector of its
	// own (errSel), or good events (goodSel: errors are total - good).
	errMatchers []string
	errSel      string
	goodSel     string
	status      string
	route       string
	// duration histogram, without _bucket.
	duration       string
	durationBase   []string
	durationNative bool
}

func (r *redSource) key() string { return r.requests + "{" + strings.Join(r.base, ",") + "}" }

// detectRED finds the request streams of a service's SLOs.
func detectRED(slos []slo.SLO) []*redSource {
	p := parser.NewParser(parser.Options{})
	mentioned := map[string]bool{}
	for _, s := range slos {
		for _, l := range s.GroupBy {
			mentioned[l] = true
		}
	}
	var sources []*redSource
	find := func(key string) *redSource {
		for _, s := range sources {
			if s.key() == key {
				return s
			}
		}
		return nil
	}
	add := func(r *redSource) *redSource {
		if old := find(r.key()); old != nil {
			return old
		}
		sources = append(sources, r)
		return r
	}
	var latencies []*redSource
	for _, s := range slos {
		switch s.SLI.Kind {
		case slo.SLIRatio:
			r := s.SLI.Ratio
			if r == nil {
				continue
			}
			tn, tm, ok := parseSel(p, r.Total, mentioned)
			if !ok {
				continue
			}
			src := &redSource{requests: tn, base: tm}
			if r.Errors != "" {
				en, em, ok := parseSel(p, r.Errors, mentioned)
				if ok && en == tn && subset(tm, em) {
					src.errMatchers = minus(em, tm)
				} else if ok {
					src.errSel = r.Errors
				}
			} else if r.Good != "" {
				src.goodSel = r.Good
			}
			got := add(src)
			if got != src && len(got.errMatchers) == 0 && got.errSel == "" && got.goodSel == "" {
				got.errMatchers, got.errSel, got.goodSel = src.errMatchers, src.errSel, src.goodSel
			}
		case slo.SLILatency:
			l := s.SLI.Latency
			if l == nil {
				continue
			}
			hn, hm, ok := parseSel(p, l.Histogram, mentioned)
			if !ok {
				continue
			}
			latencies = append(latencies, &redSource{duration: hn, durationBase: hm, durationNative: l.Native})
		case slo.SLIQuery:
			q := s.SLI.Query
			if q == nil {
				continue
			}
			var totals, errs, goods []vecSel
			switch {
			case q.Total != "":
				totals, errs, goods = querySelectors(p, q.Total), querySelectors(p, q.Errors), querySelectors(p, q.Good)
			case q.ErrorRatio != "":
				errs, totals = ratioSelectors(p, q.ErrorRatio)
			}
			for _, vs := range totals {
				if vs.matchers = withoutLE(vs.matchers); !countable(vs.name) {
					continue
				}
				src := &redSource{requests: vs.name, base: vs.matchers}
				if c := conventionOf(vs.name); c != nil && vs.name != c.Requests && vs.name != "coredns_dns_requests_total" {
					src.requests = c.Requests // a histogram's buckets count requests too
				}
				for _, e := range errs {
					if e.name == vs.name && subset(vs.matchers, e.matchers) {
						src.errMatchers = minus(withoutLE(e.matchers), vs.matchers)
					} else if src.errSel == "" && countable(e.name) && conventionOf(vs.name) == nil {
						src.errSel = e.name + "{" + strings.Join(e.matchers, ",") + "}"
					}
				}
				for _, g := range goods {
					if countable(g.name) && src.goodSel == "" && len(src.errMatchers) == 0 && src.errSel == "" {
						src.goodSel = g.name + "{" + strings.Join(g.matchers, ",") + "}"
					}
				}
				add(src)
				break
			}
		}
	}
	// A latency SLO lends its histogram to the stream it times; one that
	// times no known stream gets a stream of its own, counted by the
	// histogram's count.
	for _, lat := range latencies {
		merged := false
		for _, s := range sources {
			if s.duration == "" && timesStream(lat, s) {
				s.duration, s.durationBase, s.durationNative = lat.duration, lat.durationBase, lat.durationNative
				merged = true
				break
			}
		}
		if merged {
			continue
		}
		src := &redSource{requests: lat.duration + "_count", base: lat.durationBase,
			duration: lat.duration, durationBase: lat.durationBase, durationNative: lat.durationNative}
		if lat.durationNative {
			src.requests, src.native = lat.duration, true
		}
		if old := find(src.key()); old != nil {
			if old.duration == "" {
				old.duration, old.durationBase, old.durationNative = src.duration, src.durationBase, src.durationNative
			}
			continue
		}
		sources = append(sources, src)
	}
	for _, s := range sources {
		s.conv = conventionOf(s.requests)
		if s.conv == nil && s.duration != "" {
			s.conv = conventionOf(s.duration)
		}
		if s.conv != nil {
			s.status, s.route = s.conv.Status, s.conv.Route
			if s.conv.Requests == "http_requests_total" {
				for _, l := range legacyRouteLabels {
					if mentioned[l] {
						s.route = l
						break
					}
				}
			}
			if s.duration == "" {
				s.duration = s.conv.Duration
				s.durationBase = append(append([]string{}, s.base...), s.conv.DurationMatchers...)
			}
			if len(s.errMatchers) == 0 && s.errSel == "" && s.goodSel == "" {
				s.errMatchers = []string{s.conv.ErrorMatcher}
			}
		} else {
			for _, m := range s.errMatchers {
				if name := matcherLabel(m); statusLabels[name] || s.status == "" {
					s.status = name
				}
			}
			for _, sl := range slos {
				if len(sl.GroupBy) > 0 {
					s.route = sl.GroupBy[0]
					break
				}
			}
		}
	}
	return sources
}

// timesStream says whether a latency histogram times the request stream:
// the same convention, and the stream's matchers all on the histogram.
func timesStream(lat, s *redSource) bool {
	c := conventionOf(s.requests)
	if c == nil || c.Duration != lat.duration {
		return s.requests == lat.duration+"_count" && subset(s.base, lat.durationBase)
	}
	return subset(s.base, lat.durationBase)
}

func conventionOf(metric string) *Convention {
	for i := range Conventions {
		c := &Conventions[i]
		if metric == c.Requests || metric == c.Duration || metric == c.Duration+"_count" {
			return c
		}
	}
	if metric == "coredns_dns_requests_total" {
		return conventionOf("coredns_dns_responses_total")
	}
	return nil
}

// parseSel parses a series selector into its metric name and its other
// matchers, rendered and sorted. It notes the label names it sees.
func parseSel(p parser.Parser, s string, seen map[string]bool) (string, []string, bool) {
	ms, err := p.ParseMetricSelector(s)
	if err != nil {
		return "", nil, false
	}
	name, rest := splitName(ms)
	if name == "" {
		return "", nil, false
	}
	for _, m := range ms {
		seen[m.Name] = true
	}
	return name, rest, true
}

func splitName(ms []*labels.Matcher) (string, []string) {
	var name string
	var rest []string
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && name == "" {
			name = m.Value
			continue
		}
		rest = append(rest, m.String())
	}
	sort.Strings(rest)
	return name, rest
}

type vecSel struct {
	name     string
	matchers []string
}

// countable says whether a metric is a counter or a histogram's count or
// buckets, so that its rate is a rate of events.
func countable(name string) bool {
	return strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count") ||
		strings.HasSuffix(name, "_bucket") || conventionOf(name) != nil
}

func withoutLE(ms []string) []string {
	var out []string
	for _, m := range ms {
		if matcherLabel(m) != "le" {
			out = append(out, m)
		}
	}
	return out
}

// ratioSelectors splits a raw error-ratio query a / b into the selectors
// of a (errors) and of b (total); a query of another shape has only totals.
func ratioSelectors(p parser.Parser, q string) (errs, totals []vecSel) {
	e, err := p.ParseExpr(strings.ReplaceAll(q, slo.WindowVar, "5m"))
	if err != nil {
		return nil, nil
	}
	for {
		pe, ok := e.(*parser.ParenExpr)
		if !ok {
			break
		}
		e = pe.Expr
	}
	if b, ok := e.(*parser.BinaryExpr); ok && b.Op == parser.DIV {
		return nodeSelectors(b.LHS), nodeSelectors(b.RHS)
	}
	return nil, nodeSelectors(e)
}

// querySelectors lists the vector selectors of a raw SLI query.
func querySelectors(p parser.Parser, q string) []vecSel {
	if q == "" {
		return nil
	}
	e, err := p.ParseExpr(strings.ReplaceAll(q, slo.WindowVar, "5m"))
	if err != nil {
		return nil
	}
	return nodeSelectors(e)
}

func nodeSelectors(e parser.Node) []vecSel {
	var out []vecSel
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name, rest := splitName(vs.LabelMatchers)
			if name != "" {
				out = append(out, vecSel{name: name, matchers: rest})
			}
		}
		return nil
	})
	return out
}

func subset(a, b []string) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !subset([]string{x}, b) {
			out = append(out, x)
		}
	}
	return out
}

func matcherLabel(m string) string {
	for i, r := range m {
		if r == '=' || r == '!' {
			return m[:i]
		}
	}
	return m
}

// RED builds the RED dashboard (rate, errors, duration) of a service from
// the metrics its SLOs read: request rate, error ratio, errors by status
// and by route, and duration p50/p90/p99, for each request stream found.
// The OpenTelemetry (http_server_request_duration_seconds with
// http_response_status_code and http_route) and classic Prometheus
// (http_requests_total with code, http_request_duration_seconds)
// conventions are recognised, as are the Kubernetes API server, NGINX
// ingress, CoreDNS and gRPC metrics; other counters get rate and error
// panels from the SLO's own selectors.
func RED(service string, slos []slo.SLO, opts Options) Dashboard {
	opts = opts.withDefaults()
	d := newDashboard(KindRED, service, service+": RED",
		"Request rate, errors and duration of "+service+", from the metrics its SLOs read. Generated by slokeeper.",
		opts, "red", "service:"+service)
	d.Links = append(d.Links, linkTo(service+": SLOs", UID(KindSLO, service), "Objectives, error budget and burn rates"))
	d.Annotations.List = append(d.Annotations.List, serviceAnnotations(service)...)
	sources := detectRED(slos)
	routes := map[string]bool{}
	for _, s := range sources {
		if s.route != "" && !routes[s.route] {
			routes[s.route] = true
			d.Templating.List = append(d.Templating.List, queryVar(s.route, s.route,
				"label_values("+sel(s.requests, s.base...)+", "+s.route+")", true))
		}
	}
	l := newLayout()
	if len(sources) == 0 {
		l.add(24, 4, TextPanel("No request metrics",
			"None of the SLOs of **"+service+"** reads a request counter or a latency histogram, so there is nothing to show here. "+
				"See the SLO dashboard for the SLIs themselves."))
	}
	for _, s := range sources {
		redRows(l, s, len(sources) > 1)
	}
	d.Panels = l.panels
	return d
}

func redRows(l *layout, s *redSource, titled bool) {
	base := append([]string{}, s.base...)
	if s.route != "" {
		base = append(base, re(s.route, "$"+s.route))
	}
	total := sel(s.requests, base...)
	reqRate := func(by ...string) string {
		if s.native {
			return sumBy(by, "histogram_count("+rate(total)+")")
		}
		return sumRate(total, by...)
	}
	var errRate func(by ...string) string
	switch {
	case s.errSel != "":
		errRate = func(by ...string) string { return sumRate(s.errSel, by...) }
	case s.goodSel != "":
		errRate = func(by ...string) string {
			return "(" + reqRate(by...) + " - " + sumRate(s.goodSel, by...) + ")"
		}
	default:
		errSel := sel(s.requests, append(append([]string{}, base...), s.errMatchers...)...)
		errRate = func(by ...string) string {
			if s.native {
				return sumBy(by, "histogram_count("+rate(errSel)+")")
			}
			return sumRate(errSel, by...)
		}
	}
	// No failed request at all gives 0, not a gap: errors or 0 * total.
	ratio := func(by ...string) string {
		if s.goodSel != "" {
			return errRate(by...) + " / " + reqRate(by...)
		}
		return "(" + errRate(by...) + " or 0 * " + reqRate(by...) + ") / " + reqRate(by...)
	}
	title := "Requests"
	if s.conv != nil {
		title += " (" + s.conv.Name + ")"
	}
	if titled {
		title += ": " + total
	}
	l.row(title)
	l.add(8, 8, Timeseries("Request rate", UnitReqPerSec, Query(reqRate(), "requests")))
	er := Timeseries("Error ratio", UnitPercentUnit, Query(ratio(), "errors"))
	er.Description = "Failed requests over all requests."
	l.add(8, 8, er)
	if s.duration != "" {
		l.add(8, 8, durationPanel(s, "Duration p50/p90/p99", ""))
	} else {
		l.add(8, 8, TextPanel("Duration", "No latency histogram found for this request stream."))
	}
	if s.status != "" {
		all := Timeseries("Requests by "+s.status, UnitReqPerSec, Query(reqRate(s.status), "{{"+s.status+"}}"))
		stack(&all)
		l.add(8, 8, all)
		if s.errSel == "" && s.goodSel == "" {
			l.add(8, 8, Timeseries("Errors by "+s.status, UnitReqPerSec, Query(errRate(s.status), "{{"+s.status+"}}")))
		} else {
			l.add(8, 8, Timeseries("Errors", UnitReqPerSec, Query(errRate(), "errors")))
		}
	} else {
		l.add(8, 8, Timeseries("Errors", UnitReqPerSec, Query(errRate(), "errors")))
	}
	if s.route != "" {
		l.add(8, 8, Timeseries("Error ratio by "+s.route+" (top 10)", UnitPercentUnit,
			Query("topk(10, "+ratio(s.route)+")", "{{"+s.route+"}}")))
		l.add(12, 8, Timeseries("Request rate by "+s.route+" (top 10)", UnitReqPerSec,
			Query("topk(10, "+reqRate(s.route)+")", "{{"+s.route+"}}")))
		if s.duration != "" {
			l.add(12, 8, durationPanel(s, "Duration p99 by "+s.route+" (top 10)", s.route))
		}
	}
}

// durationPanel shows p50/p90/p99, or p99 by a label.
func durationPanel(s *redSource, title, by string) Panel {
	base := append([]string{}, s.durationBase...)
	if s.route != "" {
		base = append(base, re(s.route, "$"+s.route))
	}
	q := func(qq string, by ...string) string {
		if s.durationNative {
			return nativeQuantile(qq, sel(s.duration, base...), by...)
		}
		return quantile(qq, sel(s.duration+"_bucket", base...), by...)
	}
	if by != "" {
		return Timeseries(title, UnitSeconds, Query("topk(10, "+q("0.99", by)+")", "{{"+by+"}}"))
	}
	return Timeseries(title, UnitSeconds,
		Query(q("0.5"), "p50"), Query(q("0.9"), "p90"), Query(q("0.99"), "p99"))
}

// stack stacks a time series panel's series.
func stack(p *Panel) {
	if g, ok := p.FieldConfig.Defaults.Custom.(*GraphFieldConfig); ok {
		g.Stacking = &Stacking{Mode: "normal", Group: "A"}
		g.FillOpacity = 30
	}
}
