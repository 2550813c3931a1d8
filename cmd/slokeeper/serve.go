package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/daemon"
	"github.com/slokeeper/slokeeper/internal/version"
	"github.com/slokeeper/slokeeper/server"
)

// serveCmd is `slokeeper serve` and `slokeeper check config`: both read the
// daemon configuration, so they share one command value; mode says which
// was chosen.
type serveCmd struct {
	mode                           string
	configFile                     string
	checkFile                      string
	web                            *web.FlagConfig
	logLevel                       *promslog.Level
	logFormat                      *promslog.Format
	stopTimeout                    time.Duration
	storagePath                    string
	externalURLFlag                string
	demo                           bool
	demoSpecs                      string
	demoFreezeAfter, demoLiftAfter time.Duration
}

// externalURL is --web.external-url, else derived from the first listen
// address.
func (c *serveCmd) externalURL() string {
	if c.externalURLFlag != "" {
		return c.externalURLFlag
	}
	addr := ":9740"
	if a := *c.web.WebListenAddresses; len(a) > 0 {
		addr = a[0]
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:9740"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c *serveCmd) name() string {
	if c.mode == "check" {
		return "check config"
	}
	return "serve"
}

func (c *serveCmd) register(app *kingpin.Application) {
	c.logLevel, c.logFormat = promslog.NewLevel(), promslog.NewFormat()
	cmd := app.Command("serve", "Run the daemon: keep rules in line with the specs, read budgets from Prometheus, serve the API.")
	cmd.Action(func(*kingpin.ParseContext) error { c.mode = "serve"; return nil })
	cmd.Flag("config.file", "Daemon configuration file (see docs/config.md).").Default("slokeeper.yml").StringVar(&c.configFile)
	cmd.Flag("config", "Alias of --config.file.").Hidden().StringVar(&c.configFile)
	// --web.listen-address (repeatable), --web.config.file (TLS and basic
	// auth, the exporter-toolkit web configuration) and --web.systemd-socket.
	c.web = kingpinflag.AddFlags(cmd, ":9740")
	cmd.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").SetValue(c.logLevel)
	cmd.Flag("log.format", "Log format: logfmt or json.").Default("logfmt").SetValue(c.logFormat)
	cmd.Flag("shutdown.timeout", "How long in-flight requests may take on shutdown.").Default("15s").DurationVar(&c.stopTimeout)
	cmd.Flag("storage.path", "Directory of the state database (freezes, decisions, notifications), the embedded engine's TSDB and the reports.").Default("data").StringVar(&c.storagePath)
	cmd.Flag("web.external-url", "URL users reach slokeeper at, for links (default: from the listen address; web.external_url in the configuration wins).").StringVar(&c.externalURLFlag)
	cmd.Flag("demo", "Run the demo: the embedded engine, synthetic traffic for the specs in --demo.specs with history, a freeze that starts and lifts; no configuration file needed.").BoolVar(&c.demo)
	cmd.Flag("demo.specs", "Specs the demo generates traffic for.").Default("testdata/slos").StringVar(&c.demoSpecs)
	cmd.Flag("demo.freeze-after", "When the demo's planned freeze (checkout) starts, after start.").Default("10m").DurationVar(&c.demoFreezeAfter)
	cmd.Flag("demo.lift-after", "When the demo's planned freeze lifts, after start.").Default("30m").DurationVar(&c.demoLiftAfter)

	check := app.Command("check", "Check configuration files.")
	cc := check.Command("config", "Check a daemon configuration file; problems as file:line:col.")
	cc.Action(func(*kingpin.ParseContext) error { c.mode = "check"; return nil })
	cc.Arg("file", "Configuration file.").Required().StringVar(&c.checkFile)
}

func (c *serveCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	if c.mode == "check" {
		if _, err := config.Load(c.checkFile); err != nil {
			fmt.Fprintln(stderr, err)
			return exitInvalid
		}
		fmt.Fprintf(stdout, "%s: OK\n", c.checkFile)
		return exitOK
	}
	logger := promslog.New(&promslog.Config{Level: c.logLevel, Format: c.logFormat, Writer: stderr})
	var cfg *config.Config
	var err error
	var dm *demoSetup
	if c.demo {
		dm, err = newDemoSetup(c, stdout)
		if err == nil {
			cfg, err = dm.config()
		}
	} else {
		cfg, err = config.Load(c.configFile)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	if f := *c.web.WebConfigFile; f != "" {
		if err := web.Validate(f); err != nil {
			logger.Error("invalid web configuration", "file", f, "err", err)
			return exitInvalid
		}
	}
	shutdownTracing, tracing, err := daemon.SetupTracing(ctx)
	if err != nil {
		logger.Error("cannot set up tracing", "err", err)
		return exitInvalid
	}
	if tracing {
		logger.Info("OpenTelemetry tracing enabled (OTLP/HTTP, from the OTEL_* variables)")
	}
	defer func() {
		tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer tcancel()
		if err := shutdownTracing(tctx); err != nil {
			logger.Warn("flushing traces", "err", err)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	sup := &supervisor{cmd: c, log: logger, demo: dm}
	if err := sup.start(ctx, cfg); err != nil {
		logger.Error("cannot start", "err", err)
		return exitInvalid
	}
	logger.Info("starting slokeeper", "version", version.Info("slokeeper"), "config", c.configFile, "addresses", *c.web.WebListenAddresses, "storage", c.storagePath)
	srv := &http.Server{
		Handler:           sup,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // POST /-/reload waits for a reconcile
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := web.ListenAndServe(srv, c.web, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if dm != nil {
		dm.announce(stdout, *c.web.WebListenAddresses)
	}
	changed := make(chan struct{}, 1)
	if !c.demo {
		wg.Add(1)
		go func() { defer wg.Done(); watchFile(ctx, c.configFile, logger, changed) }()
	}
	code := exitOK
loop:
	for {
		select {
		case <-ctx.Done(): // SIGTERM or interrupt (see main)
			logger.Info("shutting down")
			break loop
		case <-hup:
			logger.Info("SIGHUP: reloading the configuration and reconciling")
			sup.reload(ctx)
		case <-changed:
			logger.Info("the configuration file changed: reloading")
			sup.reload(ctx)
		case err := <-errc:
			logger.Error("HTTP server failed", "err", err)
			code = exitInvalid
			break loop
		}
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), c.stopTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("HTTP shutdown", "err", err)
	}
	sup.stop()
	wg.Wait()
	logger.Info("stopped")
	return code
}

// supervisor runs one server stack at a time and swaps it when the
// configuration changes; the listener stays. A configuration with errors
// is reported and the running stack goes on.
type supervisor struct {
	cmd  *serveCmd
	log  *slog.Logger
	demo *demoSetup

	mu      sync.Mutex
	cfg     *config.Config
	srv     *server.Server
	cancel  context.CancelFunc
	done    chan struct{}
	handler atomic.Pointer[http.Handler]

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

func (s *supervisor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.handler.Load()
	if h == nil {
		http.Error(w, "slokeeper is restarting", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// start builds and runs a stack for cfg.
func (s *supervisor) start(ctx context.Context, cfg *config.Config) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_config_last_reload_successful", Help: "Whether the last configuration reload succeeded."})
	s.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration (re)load."})
	reg.MustRegister(s.reloadOK, s.reloadTime)
	s.reloadOK.Set(1)
	s.reloadTime.SetToCurrentTime()
	opts := server.Options{StoragePath: s.cmd.storagePath, Logger: s.log, Registry: reg, ExternalURL: s.cmd.externalURL()}
	if s.demo != nil {
		s.demo.serverOptions(&opts)
	}
	srv, err := server.New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if s.demo != nil {
		if err := s.demo.prepare(ctx, srv); err != nil {
			_ = srv.Close()
			return err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(rctx); err != nil {
			s.log.Error("slokeeper stopped with an error", "err", err)
		}
	}()
	h := srv.Handler()
	s.mu.Lock()
	s.cfg, s.srv, s.cancel, s.done = cfg, srv, cancel, done
	s.mu.Unlock()
	s.handler.Store(&h)
	return nil
}

// stop ends the running stack and releases it.
func (s *supervisor) stop() {
	s.mu.Lock()
	srv, cancel, done := s.srv, s.cancel, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	s.handler.Store(nil)
	cancel()
	<-done
	if err := srv.Close(); err != nil {
		s.log.Warn("closing", "err", err)
	}
}

// reload re-reads the configuration: with errors, they are logged and the
// running stack goes on; unchanged, the stack reconciles; changed, the
// stack is replaced (the state database and the TSDB are reopened).
func (s *supervisor) reload(ctx context.Context) {
	if s.demo != nil {
		s.mu.Lock()
		d := s.srv
		s.mu.Unlock()
		if d != nil {
			go func() { <-d.Daemon().Trigger() }()
		}
		return
	}
	cfg, err := config.Load(s.cmd.configFile)
	if err != nil {
		s.reloadOK.Set(0)
		s.log.Error("the new configuration has errors; the running one is kept", "err", err)
		return
	}
	s.mu.Lock()
	same := s.cfg != nil && reflect.DeepEqual(s.cfg, cfg)
	cur := s.srv
	s.mu.Unlock()
	if same && cur != nil {
		s.reloadOK.Set(1)
		go func() { <-cur.Daemon().Trigger() }()
		return
	}
	s.stop()
	if err := s.start(ctx, cfg); err != nil {
		s.log.Error("cannot start with the new configuration", "err", err)
		return
	}
	s.log.Info("configuration reloaded")
}

// watchFile signals changes of file (its directory is watched, so that
// editors replacing the file and Kubernetes ConfigMap updates are seen),
// once per quiet second.
func watchFile(ctx context.Context, file string, log *slog.Logger, changed chan<- struct{}) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("watching the configuration file is off", "err", err)
		return
	}
	defer w.Close()
	abs, err := filepath.Abs(file)
	if err != nil {
		return
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		log.Warn("watching the configuration file is off", "err", err)
		return
	}
	var last []byte
	if b, err := os.ReadFile(abs); err == nil {
		last = b
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if filepath.Base(ev.Name) == filepath.Base(abs) || strings.HasPrefix(filepath.Base(ev.Name), "..") {
				timer.Reset(time.Second)
			}
		case <-w.Errors:
		case <-timer.C:
			b, err := os.ReadFile(abs)
			if err != nil || bytes.Equal(b, last) {
				continue
			}
			last = b
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}
