package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/daemon"
	"github.com/slokeeper/slokeeper/internal/version"
)

// serveCmd is `slokeeper serve` and `slokeeper check config`: both read the
// daemon configuration, so they share one command value; mode says which
// was chosen.
type serveCmd struct {
	mode        string
	configFile  string
	checkFile   string
	web         *web.FlagConfig
	logLevel    *promslog.Level
	logFormat   *promslog.Format
	stopTimeout time.Duration
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
	cfg, err := config.Load(c.configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d, err := daemon.New(cfg, daemon.Options{Logger: logger, Registry: reg})
	if err != nil {
		logger.Error("cannot start", "err", err)
		return exitInvalid
	}
	if f := *c.web.WebConfigFile; f != "" {
		if err := web.Validate(f); err != nil {
			logger.Error("invalid web configuration", "file", f, "err", err)
			return exitInvalid
		}
	}
	logger.Info("starting slokeeper", "version", version.Info("slokeeper"), "config", c.configFile, "addresses", *c.web.WebListenAddresses)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := d.NewServer("")
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := web.ListenAndServe(srv, c.web, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() { defer wg.Done(); _ = d.Run(ctx) }()
	code := exitOK
loop:
	for {
		select {
		case <-ctx.Done(): // SIGTERM or interrupt (see main)
			logger.Info("shutting down")
			break loop
		case <-hup:
			logger.Info("SIGHUP: reconciling")
			go func() { <-d.Trigger() }()
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
	wg.Wait()
	logger.Info("stopped")
	return code
}
