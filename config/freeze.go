package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedule time zones exist even without system tzdata

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/internal/ynode"
)

// Freeze defaults.
const (
	DefaultPagerDutyPoll = time.Minute
	MinPagerDutyPoll     = 10 * time.Second
)

// Freeze is the `freeze:` section: the error-budget policies, how services
// map to them, the manual-freeze API's token and the notifiers.
type Freeze struct {
	// Policies by name.
	Policies map[string]freeze.Policy
	// Default is the policy of services whose specs name none ("": none).
	Default string
	// ServicePolicy maps services to policy names; it wins over the specs.
	ServicePolicy map[string]string
	// APIToken is the bearer token of the manual freeze API (POST/DELETE
	// /api/v1/freezes); unset: the API refuses manual changes.
	APIToken      SecretRef
	Notifications Notifications
	// UIURL is slokeeper's own web UI, linked from notifications.
	UIURL string
	// DashboardURL is linked from notifications; {service} is replaced.
	DashboardURL string
}

// PolicySet is the engine's view of the policies.
func (f *Freeze) PolicySet() freeze.PolicySet {
	return freeze.PolicySet{Policies: f.Policies, Default: f.Default, Services: f.ServicePolicy}
}

// Notifications are the notifiers of freeze state changes.
type Notifications struct {
	Slack     *SlackNotifier
	PagerDuty *PagerDuty
	File      *FileNotifier
}

// SlackNotifier posts to Slack: with a bot token, one message per freeze
// episode, updated in place; with an incoming webhook, new messages only.
type SlackNotifier struct {
	Token      SecretRef
	Channel    string
	WebhookURL SecretRef
	// APIURL overrides https://slack.com/api/ (tests, proxies).
	APIURL string
}

// PagerDuty is both a notifier (Events API v2, with the routing key) and a
// freeze source (open incidents read from the REST API with the API token).
type PagerDuty struct {
	RoutingKey   SecretRef
	APIToken     SecretRef
	PollInterval time.Duration
	// APIURL and EventsURL override the REST and Events API base URLs.
	APIURL    string
	EventsURL string
}

// FileNotifier appends one JSON line per notification to Path.
type FileNotifier struct {
	Path string
}

// SecretRef names where a secret is: a file (re-read on each use, so it can
// be rotated) or an environment variable. It never holds the value.
type SecretRef struct {
	File string
	Env  string
}

// IsSet says whether a source is configured.
func (s SecretRef) IsSet() bool { return s.File != "" || s.Env != "" }

// String names the source, never the value.
func (s SecretRef) String() string {
	switch {
	case s.File != "":
		return "file:" + s.File
	case s.Env != "":
		return "env:" + s.Env
	}
	return "unset"
}

// Load reads the secret now. Surrounding whitespace (a file's trailing
// newline) is removed; an empty secret is an error.
func (s SecretRef) Load() (string, error) {
	var v string
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		v = string(b)
	case s.Env != "":
		e, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		v = e
	default:
		return "", errors.New("no secret configured")
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("secret from %s is empty", s)
	}
	return v, nil
}

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseFreezeSection reads the `freeze:` mapping m (and reports its unknown
// fields); relative paths are resolved against dir, the configuration's
// directory. Problems go to m's decoder.
func ParseFreezeSection(m *ynode.Map, dir string) *Freeze {
	p := parser{dir: dir}
	f := &Freeze{Policies: map[string]freeze.Policy{}}
	pagerDutyAt := map[string]*ynode.Map{} // policies with a pagerduty rule
	for _, it := range m.List("policies") {
		pm := m.Decoder().Map(it.Node, it.Path)
		if pm == nil {
			continue
		}
		pol, ok := p.policy(pm)
		if !ok {
			continue
		}
		if _, dup := f.Policies[pol.Name]; dup {
			pm.Errorf("name", "policy %q is defined twice", pol.Name)
			continue
		}
		f.Policies[pol.Name] = pol
		if pol.PagerDuty != nil {
			pagerDutyAt[pol.Name] = pm
		}
	}
	if m.Has("policies") && len(f.Policies) == 0 && !m.Decoder().Problems.HasErrors() {
		m.Errorf("policies", "at least one policy is required when policies is set")
	}
	if name, ok := m.String("default_policy"); ok {
		if _, known := f.Policies[name]; !known {
			m.Errorf("default_policy", "unknown policy %q%s", name, policyHint(f.Policies))
		} else {
			f.Default = name
		}
	}
	if sm := m.Sub("services"); sm != nil {
		f.ServicePolicy = map[string]string{}
		for _, svc := range sm.Keys() {
			name, ok := sm.String(svc)
			if !ok {
				continue
			}
			if _, known := f.Policies[name]; !known {
				sm.Errorf(svc, "unknown policy %q%s", name, policyHint(f.Policies))
				continue
			}
			f.ServicePolicy[svc] = name
		}
		sm.Done()
	}
	if am := m.Sub("api"); am != nil {
		f.APIToken = p.secret(am, "token", false)
		am.Done()
	}
	if nm := m.Sub("notifications"); nm != nil {
		f.Notifications = p.notifications(nm)
		nm.Done()
	}
	if len(pagerDutyAt) > 0 && (f.Notifications.PagerDuty == nil || !f.Notifications.PagerDuty.APIToken.IsSet()) {
		for name, pm := range pagerDutyAt {
			pm.Errorf("pagerduty", "policy %q reads PagerDuty incidents: notifications.pagerduty.api_token_file or api_token_env is required", name)
		}
	}
	f.UIURL = httpURL(m, "ui_url", false)
	if s, ok := m.String("dashboard_url"); ok {
		r := strings.NewReplacer("{service}", "service", "{slo}", "slo", "{team}", "team")
		if u := r.Replace(s); !isHTTPURL(u) {
			m.Errorf("dashboard_url", "%q is not an http(s) URL", s)
		} else {
			f.DashboardURL = s
		}
	}
	m.Ignore("storage_path")
	if m.Has("storage_path") {
		m.Errorf("storage_path", "the storage path is the --storage.path command-line flag")
	}
	m.Done()
	return f
}

func policyHint(ps map[string]freeze.Policy) string {
	if len(ps) == 0 {
		return ": no policy is defined"
	}
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, strconv.Quote(n))
	}
	slices.Sort(names)
	return " (defined: " + strings.Join(names, ", ") + ")"
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func (p parser) policy(m *ynode.Map) (freeze.Policy, bool) {
	name, _ := m.String("name")
	if name == "" {
		m.Require("name")
	} else if !policyNameRE.MatchString(name) {
		m.Errorf("name", "invalid policy name %q: letters, digits, '.', '_' and '-'", name)
		name = ""
	}
	pol := freeze.NewPolicy(name)
	pol.SLOs = m.StringList("slos")
	var (
		haveFreeze, haveWarn, haveLift bool
	)
	if v, ok := percent(m, "freeze_at", true); ok {
		pol.FreezeAt, haveFreeze = v, true
	}
	if n := m.Get("warn_at"); n != nil && n.Kind == yaml.ScalarNode && strings.EqualFold(n.Value, "off") {
		pol.NoWarning = true
	} else if v, ok := percent(m, "warn_at", false); ok {
		pol.WarnAt, haveWarn = v, true
	}
	if v, ok := percent(m, "lift_at", false); ok {
		pol.LiftAt, haveLift = v, true
	}
	switch {
	case pol.LiftAt <= pol.FreezeAt && (haveLift || haveFreeze):
		key := "lift_at"
		if !haveLift {
			key = "freeze_at"
		}
		m.Errorf(key, "lift_at (%s) must be above freeze_at (%s): the gap is the hysteresis that prevents flapping", freeze.Percent(pol.LiftAt), freeze.Percent(pol.FreezeAt))
	}
	if !pol.NoWarning && pol.WarnAt <= pol.FreezeAt && (haveWarn || haveFreeze) {
		key := "warn_at"
		if !haveWarn {
			key = "freeze_at"
		}
		m.Errorf(key, "warn_at (%s) must be above freeze_at (%s), or off", freeze.Percent(pol.WarnAt), freeze.Percent(pol.FreezeAt))
	}
	pol.FreezeOnPageAlert, _ = m.Bool("freeze_on_page_alert")
	if pm := m.Sub("pagerduty"); pm != nil {
		r := &freeze.PagerDutyRule{ServiceIDs: pm.StringList("service_ids")}
		if len(r.ServiceIDs) == 0 {
			pm.Errorf("service_ids", "at least one PagerDuty service ID is required")
		}
		for _, u := range pm.StringList("urgencies") {
			u = strings.ToLower(u)
			if u != "high" && u != "low" {
				pm.Errorf("urgencies", "unknown urgency %q (high or low)", u)
				continue
			}
			r.Urgencies = append(r.Urgencies, u)
		}
		r.Priorities = pm.StringList("priorities")
		pm.Done()
		pol.PagerDuty = r
	}
	seen := map[string]bool{}
	for _, it := range m.List("schedules") {
		sm := m.Decoder().Map(it.Node, it.Path)
		if sm == nil {
			continue
		}
		if s, ok := schedule(sm); ok {
			if seen[s.Name] {
				sm.Errorf("name", "schedule %q is listed twice in this policy", s.Name)
				continue
			}
			seen[s.Name] = true
			pol.Schedules = append(pol.Schedules, s)
		}
	}
	if m.Has("exemptions") {
		pol.Exemptions = []string{}
		for _, e := range m.StringList("exemptions") {
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" {
				m.Errorf("exemptions", "empty exemption")
				continue
			}
			if !slices.Contains(pol.Exemptions, e) {
				pol.Exemptions = append(pol.Exemptions, e)
			}
		}
	}
	m.Done()
	return pol, name != ""
}

// percent reads a percentage written with a % sign ("25%", "0%", "-5%");
// negative values (an overspent budget) only when negOK.
func percent(m *ynode.Map, key string, negOK bool) (float64, bool) {
	n := m.Get(key)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode {
		m.Errorf(key, "expected a percentage such as \"25%%\"")
		return 0, false
	}
	s := strings.TrimSpace(n.Value)
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		m.Errorf(key, "write a percentage with a %% sign, e.g. \"%s%%\" (a bare %s is ambiguous)", suggestPercent(s), s)
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v != v || v > 1e9 || v < -1e9 {
		m.Errorf(key, "%q is not a percentage", s)
		return 0, false
	}
	low := 0.0
	if negOK {
		low = -100
	}
	if v < low || v > 100 {
		m.Errorf(key, "%s is out of range [%s%%, 100%%]", s, strconv.FormatFloat(low, 'f', -1, 64))
		return 0, false
	}
	return v / 100, true
}

func suggestPercent(s string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "25"
	}
	if v > -1 && v < 1 {
		v *= 100
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

var weekdays = map[string][]time.Weekday{
	"sun": {time.Sunday}, "mon": {time.Monday}, "tue": {time.Tuesday}, "wed": {time.Wednesday},
	"thu": {time.Thursday}, "fri": {time.Friday}, "sat": {time.Saturday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekend":  {time.Saturday, time.Sunday},
	"daily":    {time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
}

func weekday(s string) ([]time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if d, ok := weekdays[s]; ok {
		return d, true
	}
	for short, d := range weekdays {
		if len(short) == 3 && len(s) > 3 {
			if full := strings.ToLower(d[0].String()); s == full {
				return d, true
			}
		}
	}
	return nil, false
}

var clockRE = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)
var monthDayRE = regexp.MustCompile(`^([0-9]{2})-([0-9]{2})$`)

var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// schedule reads one schedule: name, reason, time_zone and exactly one of
// start+end, weekly and yearly.
func schedule(m *ynode.Map) (freeze.Schedule, bool) {
	var s freeze.Schedule
	ok := true
	s.Name, _ = m.String("name")
	if s.Name == "" {
		m.Require("name")
		ok = false
	}
	s.Reason, _ = m.String("reason")
	tzName, hasTZ := m.String("time_zone")
	if hasTZ {
		loc, err := time.LoadLocation(tzName)
		if err != nil || tzName == "" || strings.EqualFold(tzName, "local") {
			m.Errorf("time_zone", "unknown time zone %q: use an IANA name such as Europe/Berlin or UTC", tzName)
			ok = false
		} else {
			s.Location = loc
		}
	}
	kinds := 0
	for _, k := range []string{"start", "weekly", "yearly"} {
		if m.Has(k) {
			kinds++
		}
	}
	if kinds != 1 {
		m.Errorf("", "a schedule needs exactly one of start and end (a date range), weekly or yearly")
		m.Ignore("start", "end", "weekly", "yearly")
		m.Done()
		return s, false
	}
	switch {
	case m.Has("start"):
		s.Kind = freeze.ScheduleRange
		var zoned [2]bool
		for i, key := range []string{"start", "end"} {
			v, present := m.String(key)
			if !present {
				m.Require(key)
				ok = false
				continue
			}
			t, withOffset, err := parseTime(v, s.Location)
			if err != nil {
				m.Errorf(key, "%v", err)
				ok = false
				continue
			}
			zoned[i] = withOffset
			if i == 0 {
				s.Start = t
			} else {
				s.End = t
			}
		}
		if ok && !hasTZ && !(zoned[0] && zoned[1]) {
			m.Errorf("time_zone", "required unless start and end carry a UTC offset (2025-11-28T00:00:00-05:00)")
			ok = false
		}
		if ok && !s.End.After(s.Start) {
			m.Errorf("end", "end must be after start (the end is excluded)")
			ok = false
		}
	case m.Has("weekly"):
		s.Kind = freeze.ScheduleWeekly
		if !hasTZ {
			m.Require("time_zone")
			ok = false
		}
		wm := m.Sub("weekly")
		if wm == nil {
			m.Errorf("weekly", "expected a mapping with days, start and duration")
			return s, false
		}
		for _, d := range wm.StringList("days") {
			days, known := weekday(d)
			if !known {
				wm.Errorf("days", "unknown day %q (mon..sun, weekdays, weekend, daily)", d)
				ok = false
				continue
			}
			for _, x := range days {
				if !slices.Contains(s.Days, x) {
					s.Days = append(s.Days, x)
				}
			}
		}
		if len(s.Days) == 0 && !wm.Decoder().Problems.HasErrors() {
			wm.Errorf("days", "at least one day is required")
			ok = false
		}
		if v, present := wm.String("start"); !present {
			wm.Require("start")
			ok = false
		} else if mm := clockRE.FindStringSubmatch(strings.TrimSpace(v)); mm == nil {
			wm.Errorf("start", "%q is not a time of day (HH:MM, 24h)", v)
			ok = false
		} else {
			h, _ := strconv.Atoi(mm[1])
			mi, _ := strconv.Atoi(mm[2])
			s.At = freeze.Clock{Hour: h, Minute: mi}
		}
		if !wm.Has("duration") {
			wm.Require("duration")
			ok = false
		} else if d, good := wm.Duration("duration"); good {
			if d <= 0 || d > freeze.MaxWeeklyDuration {
				wm.Errorf("duration", "must be positive and at most 7d")
				ok = false
			}
			s.Duration = d
		} else {
			ok = false
		}
		wm.Done()
	case m.Has("yearly"):
		s.Kind = freeze.ScheduleYearly
		if !hasTZ {
			m.Require("time_zone")
			ok = false
		}
		ym := m.Sub("yearly")
		if ym == nil {
			m.Errorf("yearly", "expected a mapping with from and to")
			return s, false
		}
		for _, key := range []string{"from", "to"} {
			v, present := ym.String(key)
			if !present {
				ym.Require(key)
				ok = false
				continue
			}
			md, good := monthDay(v)
			if !good {
				ym.Errorf(key, "%q is not a day of the year (MM-DD, e.g. 12-24)", v)
				ok = false
				continue
			}
			if key == "from" {
				s.From = md
			} else {
				s.To = md
			}
		}
		ym.Done()
	}
	m.Done()
	if ok {
		if err := s.Validate(); err != nil {
			m.Errorf("", "%v", err)
			ok = false
		}
	}
	return s, ok
}

func monthDay(s string) (freeze.MonthDay, bool) {
	mm := monthDayRE.FindStringSubmatch(strings.TrimSpace(s))
	if mm == nil {
		return freeze.MonthDay{}, false
	}
	mo, _ := strconv.Atoi(mm[1])
	d, _ := strconv.Atoi(mm[2])
	md := freeze.MonthDay{Month: time.Month(mo), Day: d}
	return md, md.Valid()
}

// parseTime reads an RFC 3339 time (with its offset) or a local date-time
// or date in loc; withOffset says which.
func parseTime(s string, loc *time.Location) (time.Time, bool, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (2025-11-28), a local date-time (2025-11-28T08:00) or an RFC 3339 time", s)
}

func (p parser) notifications(m *ynode.Map) Notifications {
	var n Notifications
	if sm := m.Sub("slack"); sm != nil {
		s := &SlackNotifier{Token: p.secret(sm, "token", false), WebhookURL: p.secret(sm, "webhook_url", false)}
		s.Channel, _ = sm.String("channel")
		switch {
		case s.Token.IsSet() == s.WebhookURL.IsSet():
			sm.Errorf("token_file", "exactly one of a bot token (token_file or token_env, with channel) and an incoming webhook (webhook_url_file or webhook_url_env) is required")
		case s.Token.IsSet() && s.Channel == "":
			sm.Errorf("channel", "required with a bot token (a channel ID such as C0123456789, or #name)")
		case s.WebhookURL.IsSet() && s.Channel != "":
			sm.Errorf("channel", "an incoming webhook posts to its own channel: remove channel")
		}
		s.APIURL = httpURL(sm, "api_url", false)
		sm.Done()
		n.Slack = s
	}
	if pm := m.Sub("pagerduty"); pm != nil {
		pd := &PagerDuty{RoutingKey: p.secret(pm, "routing_key", false), APIToken: p.secret(pm, "api_token", false), PollInterval: DefaultPagerDutyPoll}
		if !pd.RoutingKey.IsSet() && !pd.APIToken.IsSet() {
			pm.Errorf("routing_key_file", "set routing_key_file or routing_key_env (to send events), api_token_file or api_token_env (to read incidents), or both")
		}
		if v, ok := positive(pm, "poll_interval"); ok {
			if v < MinPagerDutyPoll {
				pm.Errorf("poll_interval", "at least %s (PagerDuty's REST API is rate limited)", MinPagerDutyPoll)
			} else {
				pd.PollInterval = v
			}
		}
		pd.APIURL = httpURL(pm, "api_url", false)
		pd.EventsURL = httpURL(pm, "events_url", false)
		pm.Done()
		n.PagerDuty = pd
	}
	if fm := m.Sub("file"); fm != nil {
		path, _ := fm.String("path")
		if path == "" {
			fm.Errorf("path", "required field is missing")
		}
		n.File = &FileNotifier{Path: p.path(path)}
		fm.Done()
	}
	return n
}

// secret reads NAME_file and NAME_env of m (exclusive), refusing NAME
// itself: secrets are not written in the configuration.
func (p parser) secret(m *ynode.Map, name string, required bool) SecretRef {
	if m.Has(name) {
		m.Ignore(name)
		m.Errorf(name, "secrets are not written in the configuration: use %s_file or %s_env", name, name)
	}
	var s SecretRef
	s.File, _ = m.String(name + "_file")
	s.File = p.path(s.File)
	s.Env, _ = m.String(name + "_env")
	if s.File != "" && s.Env != "" {
		m.Errorf(name+"_env", "%s_file and %s_env are exclusive", name, name)
	}
	if required && !s.IsSet() {
		m.Errorf(name+"_file", "%s_file or %s_env is required", name, name)
	}
	return s
}
