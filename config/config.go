// Package config reads the daemon's YAML configuration (`slokeeper serve
// --config.file`). Every problem is reported with its file:line:col and field
// path, all at once. Secrets are never in the file: passwords and tokens are
// read from files (re-read on each request, so they can be rotated) or from
// environment variables, and are never logged nor rendered.
package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// Delivery modes of the generated rules.
const (
	ModeFiles              = "files"
	ModePrometheusOperator = "prometheus-operator"
	ModeMimir              = "mimir"
)

// Defaults.
const (
	DefaultResync        = 5 * time.Minute
	DefaultBudgetRead    = 30 * time.Second
	DefaultQueryTimeout  = 30 * time.Second
	DefaultReloadTimeout = 30 * time.Second
)

// Config is the daemon configuration.
type Config struct {
	// File is the path the configuration was read from.
	File string
	// Specs are SLO spec files, directories or glob patterns.
	Specs      []string
	Prometheus Prometheus
	Rules      Rules
	// Tiers are the default alert tiers; nil means slo.DefaultTiers().
	Tiers     []slo.Tier
	Intervals Intervals
	// Grafana, when set, receives the dashboards on each reconcile.
	Grafana *Grafana
	// Freeze is the error-budget policy section; nil when absent.
	Freeze *Freeze
	// Embedded is the embedded engine, set when prometheus.url is absent.
	Embedded *Embedded
	Web      Web
	// Reports schedules the weekly review; nil when absent.
	Reports *Reports
}

// Grafana is where the daemon pushes the dashboards.
type Grafana struct {
	URL string
	// TokenFile or TokenEnv holds the service-account token; TokenFile
	// wins. With neither, the GRAFANA_TOKEN variable is read.
	TokenFile string
	TokenEnv  string
	// Folder and FolderUID name the dashboards' folder ("" for the
	// defaults: SLOs, slokeeper).
	Folder    string
	FolderUID string
	// OrgID is sent as X-Grafana-Org-Id when not 0.
	OrgID int64
}

// Intervals of the daemon's loops.
type Intervals struct {
	// Resync is the period of the level-triggered reconcile.
	Resync time.Duration
	// BudgetRead is the period of the budget reads from Prometheus.
	BudgetRead time.Duration
}

// HTTPClient is how the daemon talks to an HTTP API: authentication, TLS
// and extra headers.
type HTTPClient struct {
	BasicAuth *BasicAuth
	// BearerTokenFile / BearerTokenEnv hold the bearer token (one of them).
	BearerTokenFile string
	BearerTokenEnv  string
	TLS             TLS
	Headers         map[string]string
}

// BasicAuth credentials; the password comes from a file or a variable.
type BasicAuth struct {
	Username     string
	PasswordFile string
	PasswordEnv  string
}

// TLS client settings.
type TLS struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// Prometheus is the query API the budgets are read from (Prometheus,
// Thanos Querier or Mimir: the same API).
type Prometheus struct {
	URL     string
	Timeout time.Duration
	HTTP    HTTPClient
}

// Rules says how generated rules are delivered.
type Rules struct {
	Mode string
	// Directory receives the rule files (files) or manifests (prometheus-operator).
	Directory string
	// ReloadURL is POSTed after a change (files mode), e.g.
	// http://localhost:9090/-/reload; empty for none.
	ReloadURL     string
	ReloadTimeout time.Duration
	// Namespace and Labels of PrometheusRule objects (prometheus-operator).
	Namespace string
	Labels    map[string]string
	Mimir     Mimir
	// Evaluation intervals of the generated rule groups (0: generator default).
	ShortInterval time.Duration
	LongInterval  time.Duration
	AlertInterval time.Duration
	// DashboardURL is put on alerts; {service}, {slo}, {team} are replaced.
	DashboardURL string
}

// Mimir is the Mimir/Cortex ruler API.
type Mimir struct {
	URL string
	// Tenant is sent as X-Scope-OrgID.
	Tenant string
	HTTP   HTTPClient
}

// Load reads and checks the configuration file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(file, data)
}

// Parse checks the configuration in data; file names it in problems and
// relative paths in it are resolved against its directory. The error, when
// not nil, is a slo.Problems listing every problem.
func Parse(file string, data []byte) (*Config, error) {
	var ps slo.Problems
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		ps.Add(slo.Pos{File: file, Line: 1, Col: 1}, "invalid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, ps
	}
	c := &Config{File: file}
	d := ynode.NewDecoder(file, &ps)
	if len(root.Content) == 0 {
		ps.Add(slo.Pos{File: file, Line: 1, Col: 1}, "the configuration is empty")
		return nil, ps
	}
	m := d.Map(root.Content[0], "")
	if m == nil {
		return nil, ps
	}
	dir := filepath.Dir(file)
	p := parser{dir: dir}
	c.Specs = m.StringList("specs")
	if len(c.Specs) == 0 {
		m.Errorf("specs", "at least one spec path or glob is required")
	}
	for i, s := range c.Specs {
		if _, err := filepath.Match(s, ""); err != nil {
			m.Errorf("specs", "invalid glob %q: %v", s, err)
		}
		c.Specs[i] = p.path(s)
	}
	if pm := m.Sub("prometheus"); pm != nil {
		c.Prometheus, c.Embedded = p.prometheus(pm)
	}
	if c.Prometheus.URL == "" && !m.Has("prometheus") {
		// No Prometheus at all: the embedded engine with its defaults.
		c.Embedded = &Embedded{Retention: DefaultRetention}
	}
	switch rm := m.Sub("rules"); {
	case c.Embedded != nil:
		if rm != nil {
			m.Errorf("rules", "the embedded engine evaluates the rules itself: remove rules, or set prometheus.url")
		}
		c.Rules = Rules{Mode: ModeEmbedded}
	case rm != nil:
		c.Rules = p.rules(rm)
	default:
		m.Errorf("rules", "required field is missing")
	}
	if wm := m.Sub("web"); wm != nil {
		c.Web = p.web(wm)
	}
	if rm := m.Sub("reports"); rm != nil {
		c.Reports = p.reports(rm)
	}
	if am := m.Sub("alerting"); am != nil {
		c.Tiers = p.tiers(am)
		am.Done()
	}
	if gm := m.Sub("grafana"); gm != nil {
		c.Grafana = p.grafana(gm)
	}
	c.Intervals = Intervals{Resync: DefaultResync, BudgetRead: DefaultBudgetRead}
	if im := m.Sub("intervals"); im != nil {
		if v, ok := positive(im, "resync"); ok {
			c.Intervals.Resync = v
		}
		if v, ok := positive(im, "budget_read"); ok {
			c.Intervals.BudgetRead = v
		}
		im.Done()
	}
	if fm := m.Sub("freeze"); fm != nil {
		c.Freeze = ParseFreezeSection(fm, dir)
	}
	m.Done()
	if ps.HasErrors() {
		ps.Sort()
		return nil, ps
	}
	return c, nil
}

type parser struct{ dir string }

// path resolves a relative path against the configuration's directory.
func (p parser) path(s string) string {
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.dir, s)
}

func positive(m *ynode.Map, key string) (time.Duration, bool) {
	v, ok := m.Duration(key)
	if !ok {
		return 0, false
	}
	if v <= 0 {
		m.Errorf(key, "must be positive")
		return 0, false
	}
	return v, true
}

func httpURL(m *ynode.Map, key string, required bool) string {
	s, ok := m.String(key)
	if !ok {
		if required {
			m.Errorf(key, "required field is missing")
		}
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		m.Errorf(key, "%q is not an http(s) URL", s)
		return ""
	}
	if u.User != nil {
		m.Errorf(key, "credentials in the URL are not allowed: use basic_auth with password_file")
		return ""
	}
	return s
}

// prometheus reads the query API; without url, the embedded engine
// (prometheus.embedded, or its defaults) replaces it.
func (p parser) prometheus(m *ynode.Map) (Prometheus, *Embedded) {
	hasURL := m.Has("url")
	out := Prometheus{URL: httpURL(m, "url", false), Timeout: DefaultQueryTimeout}
	if v, ok := positive(m, "timeout"); ok {
		out.Timeout = v
	}
	out.HTTP = p.httpClient(m)
	var emb *Embedded
	if !hasURL {
		emb = &Embedded{Retention: DefaultRetention}
	}
	if em := m.Sub("embedded"); em != nil {
		if hasURL {
			m.Errorf("embedded", "embedded and url exclude each other: without url the daemon runs its own engine")
		}
		emb = p.embedded(em)
	}
	m.Done()
	return out, emb
}

// httpClient reads the HTTP client keys of m (basic_auth, bearer_token_file,
// bearer_token_env, tls, headers); the caller calls m.Done.
func (p parser) httpClient(m *ynode.Map) HTTPClient {
	var h HTTPClient
	if bm := m.Sub("basic_auth"); bm != nil {
		b := &BasicAuth{}
		b.Username, _ = bm.String("username")
		if b.Username == "" {
			bm.Errorf("username", "required field is missing")
		}
		if bm.Has("password") {
			bm.Ignore("password")
			bm.Errorf("password", "passwords are not written in the configuration: use password_file or password_env")
		}
		b.PasswordFile, _ = bm.String("password_file")
		b.PasswordFile = p.path(b.PasswordFile)
		b.PasswordEnv, _ = bm.String("password_env")
		if (b.PasswordFile == "") == (b.PasswordEnv == "") {
			bm.Errorf("password_file", "exactly one of password_file and password_env is required")
		}
		bm.Done()
		h.BasicAuth = b
	}
	if m.Has("bearer_token") {
		m.Ignore("bearer_token")
		m.Errorf("bearer_token", "tokens are not written in the configuration: use bearer_token_file or bearer_token_env")
	}
	h.BearerTokenFile, _ = m.String("bearer_token_file")
	h.BearerTokenFile = p.path(h.BearerTokenFile)
	h.BearerTokenEnv, _ = m.String("bearer_token_env")
	if h.BearerTokenFile != "" && h.BearerTokenEnv != "" {
		m.Errorf("bearer_token_env", "bearer_token_file and bearer_token_env are exclusive")
	}
	if (h.BearerTokenFile != "" || h.BearerTokenEnv != "") && h.BasicAuth != nil {
		m.Errorf("basic_auth", "basic_auth and a bearer token are exclusive")
	}
	if tm := m.Sub("tls"); tm != nil {
		h.TLS.CAFile, _ = tm.String("ca_file")
		h.TLS.CertFile, _ = tm.String("cert_file")
		h.TLS.KeyFile, _ = tm.String("key_file")
		h.TLS.ServerName, _ = tm.String("server_name")
		h.TLS.InsecureSkipVerify, _ = tm.Bool("insecure_skip_verify")
		if (h.TLS.CertFile == "") != (h.TLS.KeyFile == "") {
			tm.Errorf("cert_file", "cert_file and key_file go together")
		}
		h.TLS.CAFile, h.TLS.CertFile, h.TLS.KeyFile = p.path(h.TLS.CAFile), p.path(h.TLS.CertFile), p.path(h.TLS.KeyFile)
		tm.Done()
	}
	h.Headers = m.StringMap("headers")
	for k := range h.Headers {
		switch strings.ToLower(k) {
		case "authorization", "x-scope-orgid":
			m.Errorf("headers", "header %q is set by slokeeper: use basic_auth, bearer_token_file or tenant", k)
		}
	}
	return h
}

func (p parser) rules(m *ynode.Map) Rules {
	r := Rules{ReloadTimeout: DefaultReloadTimeout}
	r.Mode, _ = m.String("mode")
	switch r.Mode {
	case ModeFiles, ModePrometheusOperator, ModeMimir:
	case "":
		m.Errorf("mode", "required field is missing (files, prometheus-operator or mimir)")
	default:
		m.Errorf("mode", "unknown mode %q (files, prometheus-operator or mimir)", r.Mode)
	}
	r.Directory, _ = m.String("directory")
	r.Directory = p.path(r.Directory)
	if (r.Mode == ModeFiles || r.Mode == ModePrometheusOperator) && r.Directory == "" {
		m.Errorf("directory", "required in %s mode", r.Mode)
	}
	r.ReloadURL = httpURL(m, "reload_url", false)
	if r.ReloadURL != "" && r.Mode != ModeFiles {
		m.Errorf("reload_url", "only used in files mode")
	}
	if v, ok := positive(m, "reload_timeout"); ok {
		r.ReloadTimeout = v
	}
	r.Namespace, _ = m.String("namespace")
	r.Labels = m.StringMap("labels")
	if mm := m.Sub("mimir"); mm != nil {
		r.Mimir.URL = httpURL(mm, "url", true)
		r.Mimir.Tenant, _ = mm.String("tenant")
		r.Mimir.HTTP = p.httpClient(mm)
		mm.Done()
	} else if r.Mode == ModeMimir {
		m.Errorf("mimir", "required in mimir mode")
	}
	r.ShortInterval, _ = positive(m, "short_interval")
	r.LongInterval, _ = positive(m, "long_interval")
	r.AlertInterval, _ = positive(m, "alert_interval")
	if r.LongInterval != 0 && (r.LongInterval%time.Minute != 0 || time.Hour%r.LongInterval != 0 || r.LongInterval == time.Hour) {
		m.Errorf("long_interval", "must be whole minutes dividing 1h (e.g. 5m)")
	}
	if r.ShortInterval != 0 && (r.ShortInterval < time.Second || r.ShortInterval > 5*time.Minute) {
		m.Errorf("short_interval", "must be between 1s and 5m")
	}
	r.DashboardURL, _ = m.String("dashboard_url")
	m.Done()
	return r
}

func (p parser) grafana(m *ynode.Map) *Grafana {
	g := &Grafana{URL: httpURL(m, "url", true)}
	if m.Has("token") {
		m.Ignore("token")
		m.Errorf("token", "tokens are not written in the configuration: use token_file or token_env")
	}
	g.TokenFile, _ = m.String("token_file")
	g.TokenFile = p.path(g.TokenFile)
	g.TokenEnv, _ = m.String("token_env")
	if g.TokenFile != "" && g.TokenEnv != "" {
		m.Errorf("token_env", "token_file and token_env are exclusive")
	}
	g.Folder, _ = m.String("folder")
	g.FolderUID, _ = m.String("folder_uid")
	if len(g.FolderUID) > 40 {
		m.Errorf("folder_uid", "at most 40 characters")
	}
	if v, ok := m.Int("org_id"); ok {
		if v < 0 {
			m.Errorf("org_id", "must not be negative")
		}
		g.OrgID = int64(v)
	}
	m.Done()
	return g
}

func (p parser) tiers(m *ynode.Map) []slo.Tier {
	items := m.List("tiers")
	if items == nil {
		return nil
	}
	seen := map[string]bool{}
	out := make([]slo.Tier, 0, len(items))
	for _, it := range items {
		tm := m.Decoder().Map(it.Node, it.Path)
		if tm == nil {
			continue
		}
		if !tm.Require("name", "long", "short", "severity") {
			tm.Ignore("name", "class", "long", "short", "budget_fraction", "factor", "severity", "for", "labels")
			continue
		}
		var t slo.Tier
		t.Name, _ = tm.String("name")
		if seen[t.Name] {
			tm.Errorf("name", "tier %q listed twice", t.Name)
		}
		seen[t.Name] = true
		t.Class, _ = tm.String("class")
		if t.Class == "" {
			t.Class = "page"
		}
		if t.Class != "page" && t.Class != "ticket" {
			tm.Errorf("class", "class must be page or ticket")
		}
		t.Long, _ = positive(tm, "long")
		t.Short, _ = positive(tm, "short")
		if t.Long != 0 && t.Short != 0 && t.Short >= t.Long {
			tm.Errorf("short", "the short window must be shorter than the long window")
		}
		t.BudgetFraction, _ = tm.Float("budget_fraction", false)
		t.Factor, _ = tm.Float("factor", false)
		if (t.BudgetFraction > 0) == (t.Factor > 0) {
			tm.Errorf("budget_fraction", "exactly one of budget_fraction (0 < f <= 1) and factor (> 0) is required")
		}
		if t.BudgetFraction < 0 || t.BudgetFraction > 1 {
			tm.Errorf("budget_fraction", "must be in (0, 1]")
		}
		t.Severity, _ = tm.String("severity")
		if tm.Has("for") {
			t.For, _ = tm.Duration("for")
		}
		t.Labels = tm.StringMap("labels")
		tm.Done()
		out = append(out, t)
	}
	if len(out) == 0 {
		m.Errorf("tiers", "at least one tier is required when tiers is set")
	}
	return out
}

// ClientConfig is the prometheus/common HTTP client configuration of h.
// Secrets stay in their files (read on each request) or come from the
// environment now; they are held as config.Secret, which never renders.
func (h HTTPClient) ClientConfig() (commoncfg.HTTPClientConfig, error) {
	c := commoncfg.DefaultHTTPClientConfig
	if b := h.BasicAuth; b != nil {
		c.BasicAuth = &commoncfg.BasicAuth{Username: b.Username, PasswordFile: b.PasswordFile}
		if b.PasswordEnv != "" {
			v, ok := os.LookupEnv(b.PasswordEnv)
			if !ok {
				return c, fmt.Errorf("basic_auth: environment variable %s is not set", b.PasswordEnv)
			}
			c.BasicAuth.Password = commoncfg.Secret(v)
		}
	}
	switch {
	case h.BearerTokenFile != "":
		c.Authorization = &commoncfg.Authorization{Type: "Bearer", CredentialsFile: h.BearerTokenFile}
	case h.BearerTokenEnv != "":
		v, ok := os.LookupEnv(h.BearerTokenEnv)
		if !ok {
			return c, fmt.Errorf("bearer_token_env: environment variable %s is not set", h.BearerTokenEnv)
		}
		c.Authorization = &commoncfg.Authorization{Type: "Bearer", Credentials: commoncfg.Secret(v)}
	}
	c.TLSConfig = commoncfg.TLSConfig{
		CAFile: h.TLS.CAFile, CertFile: h.TLS.CertFile, KeyFile: h.TLS.KeyFile,
		ServerName: h.TLS.ServerName, InsecureSkipVerify: h.TLS.InsecureSkipVerify,
	}
	if len(h.Headers) > 0 {
		hs := &commoncfg.Headers{Headers: map[string]commoncfg.Header{}}
		for k, v := range h.Headers {
			hs.Headers[k] = commoncfg.Header{Values: []string{v}}
		}
		c.HTTPHeaders = hs
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
