// Package server assembles `slokeeper serve`: the daemon (reconcile loop,
// budget reads, API), the embedded Prometheus engine when no Prometheus is
// configured, the freeze enforcer with its state database and notifiers,
// the web UI and the scheduled reports, behind one HTTP handler.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/daemon"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/enforcer"
	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/file"
	"github.com/slokeeper/slokeeper/notify/pagerduty"
	"github.com/slokeeper/slokeeper/notify/slack"
	"github.com/slokeeper/slokeeper/report"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/store"
	"github.com/slokeeper/slokeeper/webui"
)

// Options tune a Server.
type Options struct {
	// StoragePath holds the state database (slokeeper.db), the embedded
	// engine's TSDB (prometheus/) and the reports (reports/).
	StoragePath string
	Logger      *slog.Logger
	// Registry receives every metric and is served on /metrics.
	Registry *prometheus.Registry
	// ExternalURL is where users reach the daemon when web.external_url
	// is not set (links in notifications and reports).
	ExternalURL string
	// Engine overrides the embedded engine's options (the demo adds its
	// scrape target); nil uses the configuration.
	EngineOptions func(*embedded.Options)
	// Notifiers are added to those of the configuration (the demo's file).
	Notifiers []notify.Notifier
	// DaemonOptions are passed to the daemon (tests).
	DaemonOptions daemon.Options
	// EnforcerInterval overrides the enforcer's evaluation interval.
	EnforcerInterval time.Duration
	Now              func() time.Time
}

// Server is everything `slokeeper serve` runs.
type Server struct {
	cfg         *config.Config
	opts        Options
	log         *slog.Logger
	st          *store.Store
	engine      *embedded.Engine // nil with a remote Prometheus
	prom        RangeQuerier
	d           *daemon.Daemon
	e           *enforcer.Enforcer
	ui          http.Handler
	reports     *report.Scheduler
	closers     []io.Closer
	handler     http.Handler
	deadLetters prometheus.Counter
}

// New builds the server from a checked configuration. Close releases what
// it opened (the database, the engine) when Run has returned.
func New(ctx context.Context, cfg *config.Config, opts Options) (s *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StoragePath == "" {
		opts.StoragePath = "data"
	}
	if err := os.MkdirAll(opts.StoragePath, 0o750); err != nil {
		return nil, fmt.Errorf("creating the storage directory: %w", err)
	}
	s = &Server{cfg: cfg, opts: opts, log: opts.Logger}
	// On error the returned server is nil: close this one's parts.
	opened := s
	defer func() {
		if err != nil {
			_ = opened.Close()
		}
	}()
	s.st, err = store.Open(ctx, filepath.Join(opts.StoragePath, store.FileName))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.st)

	dopts := opts.DaemonOptions
	dopts.Logger = opts.Logger.With("component", "daemon")
	dopts.Registry = opts.Registry
	if cfg.Embedded != nil {
		eo := embedded.Options{
			Dir: filepath.Join(opts.StoragePath, "prometheus"), Retention: cfg.Embedded.Retention,
			Logger: opts.Logger.With("component", "embedded"), Registerer: opts.Registry,
			ExternalURL: s.externalURL() + "/prometheus",
		}
		for _, sc := range cfg.Embedded.ScrapeConfigs {
			eo.ScrapeConfigs = append(eo.ScrapeConfigs, embedded.ScrapeConfig{
				JobName: sc.JobName, Targets: sc.Targets, Interval: sc.ScrapeInterval, Timeout: sc.ScrapeTimeout,
				MetricsPath: sc.MetricsPath, Scheme: sc.Scheme,
			})
		}
		if opts.EngineOptions != nil {
			opts.EngineOptions(&eo)
		}
		s.engine, err = embedded.Open(ctx, eo)
		if err != nil {
			return nil, fmt.Errorf("opening the embedded engine: %w", err)
		}
		s.closers = append(s.closers, closerFunc(s.engine.Close))
		s.prom = s.engine
		if dopts.Querier == nil {
			dopts.Querier = s.engine
		}
		dopts.RuleSink = s.engine
	} else {
		api, err := daemon.NewPrometheusAPI(cfg.Prometheus)
		if err != nil {
			return nil, err
		}
		s.prom = api
	}
	var wakeEnforcer func()
	dopts.OnReconcile = func() {
		if wakeEnforcer != nil {
			wakeEnforcer()
		}
	}
	s.d, err = daemon.New(cfg, dopts)
	if err != nil {
		return nil, err
	}

	fc := cfg.Freeze
	if fc == nil {
		fc = &config.Freeze{}
	}
	notifiers, err := s.notifiers(fc)
	if err != nil {
		return nil, err
	}
	eopts := enforcer.Options{
		Store: s.st, Policies: fc.PolicySet(), Notifiers: append(notifiers, opts.Notifiers...),
		DashboardURL: fc.DashboardURL, UIURL: firstNonEmpty(fc.UIURL, s.externalURL()+"/ui/"),
		Logger: opts.Logger.With("component", "freeze"), Registerer: opts.Registry, Now: opts.Now,
		Interval: opts.EnforcerInterval,
	}
	if fc.APIToken.IsSet() {
		eopts.Token = fc.APIToken.Load
	}
	if pd := fc.Notifications.PagerDuty; pd != nil && pd.APIToken.IsSet() {
		token, err := pd.APIToken.Load()
		if err != nil {
			return nil, fmt.Errorf("freeze.notifications.pagerduty: %w", err)
		}
		src, err := pagerduty.NewIncidentSource(pagerduty.IncidentSourceConfig{APIToken: token, APIURL: pd.APIURL})
		if err != nil {
			return nil, fmt.Errorf("freeze.notifications.pagerduty: %w", notify.RedactError(err, token))
		}
		eopts.Incidents, eopts.PollInterval = src, pd.PollInterval
	}
	s.e, err = enforcer.New(ctx, s.d, eopts)
	if err != nil {
		return nil, err
	}
	wakeEnforcer = s.e.Wake

	grafanaURL := cfg.Web.GrafanaURL
	if grafanaURL == "" && cfg.Grafana != nil {
		grafanaURL = cfg.Grafana.URL
	}
	tiers := cfg.Tiers
	if tiers == nil {
		tiers = slo.DefaultTiers()
	}
	s.ui, err = webui.New(&uiBackend{d: s.d, e: s.e, st: s.st, prom: s.prom, tiers: tiers, now: opts.Now},
		webui.Options{BasePath: "/ui", GrafanaURL: grafanaURL, Logger: opts.Logger.With("component", "ui"), Now: opts.Now})
	if err != nil {
		return nil, err
	}
	if err := s.setupReports(); err != nil {
		return nil, err
	}
	s.deadLetters = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "slokeeper_alertmanager_dead_letters_total", Help: "Alerts Alertmanager routed to slokeeper's dead-letter receiver (no route matched).",
	})
	opts.Registry.MustRegister(s.deadLetters)
	s.handler = s.routes()
	return s, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (s *Server) externalURL() string {
	return strings.TrimRight(firstNonEmpty(s.cfg.Web.ExternalURL, s.opts.ExternalURL, "http://localhost:9740"), "/")
}

// notifiers builds the configured notifiers; their secrets are re-read on
// every send, so they can be rotated without a restart.
func (s *Server) notifiers(fc *config.Freeze) ([]notify.Notifier, error) {
	var out []notify.Notifier
	n := fc.Notifications
	log := s.opts.Logger.With("component", "notify")
	ui := firstNonEmpty(fc.UIURL, s.externalURL()+"/ui/")
	if sl := n.Slack; sl != nil {
		ref := sl.Token
		build := func(secret string) (notify.Notifier, error) {
			return slack.New(slack.Config{Token: secret, Channel: sl.Channel, APIURL: sl.APIURL, Logger: log, UIURL: ui})
		}
		if !ref.IsSet() {
			ref = sl.WebhookURL
			build = func(secret string) (notify.Notifier, error) {
				return slack.New(slack.Config{WebhookURL: secret, Logger: log, UIURL: ui})
			}
		}
		out = append(out, &rotating{name: "slack", load: ref.Load, build: build})
	}
	if pd := n.PagerDuty; pd != nil && pd.RoutingKey.IsSet() {
		out = append(out, &rotating{name: "pagerduty", load: pd.RoutingKey.Load, build: func(secret string) (notify.Notifier, error) {
			return pagerduty.New(pagerduty.Config{RoutingKey: secret, EventsURL: pd.EventsURL, ClientURL: ui, Logger: log})
		}})
	}
	if f := n.File; f != nil {
		fn, err := file.New(file.Config{Path: f.Path, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("freeze.notifications.file: %w", err)
		}
		s.closers = append(s.closers, fn)
		out = append(out, fn)
	}
	return out, nil
}

// rotating builds its notifier from a secret read at each send, and again
// when the secret changes.
type rotating struct {
	name  string
	load  func() (string, error)
	build func(secret string) (notify.Notifier, error)

	mu     sync.Mutex
	secret string
	cur    notify.Notifier
}

func (r *rotating) Name() string { return r.name }

func (r *rotating) Send(ctx context.Context, m notify.Message, prior notify.Receipt) (notify.Receipt, error) {
	secret, err := r.load()
	if err != nil {
		return nil, notify.Retry(time.Minute, fmt.Errorf("%s: reading the secret: %w", r.name, err))
	}
	r.mu.Lock()
	if r.cur == nil || secret != r.secret {
		n, err := r.build(secret)
		if err != nil {
			r.mu.Unlock()
			return nil, notify.Permanent(fmt.Errorf("%s: %w", r.name, notify.RedactError(err, secret)))
		}
		r.cur, r.secret = n, secret
	}
	n := r.cur
	r.mu.Unlock()
	return n.Send(ctx, m, prior)
}

func (s *Server) setupReports() error {
	rc := s.cfg.Reports
	if rc == nil {
		return nil
	}
	var slackSender *report.SlackSender
	if rc.Slack && s.cfg.Freeze != nil && s.cfg.Freeze.Notifications.Slack != nil {
		sl := s.cfg.Freeze.Notifications.Slack
		ss := report.SlackSender{Channel: sl.Channel, APIURL: sl.APIURL}
		var err error
		if sl.Token.IsSet() {
			ss.Token, err = sl.Token.Load()
		} else {
			ss.WebhookURL, err = sl.WebhookURL.Load()
		}
		if err != nil {
			return fmt.Errorf("reports.slack: %w", err)
		}
		slackSender = &ss
	}
	sc := report.SchedulerConfig{
		Schedule: rc.Schedule, TimeZone: rc.TimeZone, Keep: rc.Keep, Span: rc.Span,
		Dir: filepath.Join(s.opts.StoragePath, "reports"), BaseURL: s.externalURL() + "/reports/",
		Logger: s.opts.Logger.With("component", "reports"),
		Generate: func(ctx context.Context, from, to time.Time, loc *time.Location) (*report.Review, error) {
			return report.Build(ctx, s.prom, report.Options{From: from, To: to, Location: loc, Freezes: s.e, Logger: s.opts.Logger})
		},
	}
	if slackSender != nil {
		sc.Notify = func(ctx context.Context, r *report.Review, htmlURL string) error {
			return slackSender.Send(ctx, r, htmlURL)
		}
	}
	var err error
	s.reports, err = report.NewScheduler(sc)
	return err
}

// Daemon and Engine give access to the parts the demo prepares.
func (s *Server) Daemon() *daemon.Daemon   { return s.d }
func (s *Server) Engine() *embedded.Engine { return s.engine }

// Handler serves everything.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	fh := s.e.Handler()
	for _, p := range []string{"/api/v1/freeze", "/api/v1/freeze/", "/api/v1/freezes", "/api/v1/freezes/"} {
		mux.Handle(p, fh)
	}
	mux.Handle("/ui/", s.ui)
	mux.Handle("/ui", s.ui)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	if s.reports != nil {
		mux.Handle("/reports/", http.StripPrefix("/reports", s.reports.Handler()))
	}
	if s.engine != nil {
		mux.Handle("/prometheus/", http.StripPrefix("/prometheus", s.engine.Handler()))
	}
	mux.HandleFunc("POST /api/v1/alertmanager/dead-letter", s.deadLetter)
	mux.Handle("/", s.d.Handler())
	return mux
}

// deadLetter receives Alertmanager's webhook for alerts no route matched:
// they are logged and counted, so that a routing gap shows up.
func (s *Server) deadLetter(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Version string `json:"version"`
		Status  string `json:"status"`
		Alerts  []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg); err != nil {
		http.Error(w, "invalid Alertmanager webhook payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, a := range msg.Alerts {
		s.deadLetters.Inc()
		s.log.Warn("alert matched no Alertmanager route (dead letter)", "status", a.Status, "alertname", a.Labels["alertname"], "labels", a.Labels)
	}
	w.WriteHeader(http.StatusOK)
}

// Run runs every part until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	if s.engine != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.engine.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("embedded engine: %w", err)
				cancel()
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); _ = s.d.Run(ctx) }()
	go func() { defer wg.Done(); s.e.Run(ctx) }()
	if s.reports != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.reports.Run(ctx) }()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// Close releases the database and the engine.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i].Close())
	}
	s.closers = nil
	return errors.Join(errs...)
}
