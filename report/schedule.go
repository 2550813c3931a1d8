package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slokeeper/slokeeper/internal/atomicfile"
)

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Schedule is a cron expression: five fields (minute hour day-of-month
	// month day-of-week) or a descriptor (@weekly, @daily, @every 1h).
	Schedule string
	// TimeZone of the schedule and of the rendered times (IANA name);
	// empty means UTC.
	TimeZone string
	// Dir keeps the reports; created when missing.
	Dir string
	// Keep is the number of reports kept (each as .html, .md and .json);
	// zero means 12.
	Keep int
	// Span is the reviewed span ending at each run; zero means 7d.
	Span time.Duration
	// Generate builds the review of [from, to] in loc.
	Generate func(ctx context.Context, from, to time.Time, loc *time.Location) (*Review, error)
	// Notify, when set, is called after the files are written, with the
	// URL of the HTML report (BaseURL + file name; empty without BaseURL).
	Notify func(ctx context.Context, r *Review, htmlURL string) error
	// BaseURL is the external URL of the reports directory as served by
	// Handler, e.g. https://slokeeper.example.com/reports/.
	BaseURL string
	Logger  *slog.Logger
}

// Scheduler runs the report on a cron schedule, keeps the last reports as
// files and serves them.
type Scheduler struct {
	cfg   SchedulerConfig
	sched cron.Schedule
	loc   *time.Location
}

// reportName matches the kept files: report-20260309T0900Z.html.
var reportName = regexp.MustCompile(`^report-[0-9]{8}T[0-9]{4}Z\.(html|md|json)$`)

var reportTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".md":   "text/markdown; charset=utf-8",
	".json": "application/json",
}

// NewScheduler checks cfg and parses the schedule.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Generate == nil {
		return nil, errors.New("report scheduler: no Generate function")
	}
	if cfg.Dir == "" {
		return nil, errors.New("report scheduler: no directory for the reports")
	}
	loc := time.UTC
	if cfg.TimeZone != "" {
		l, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("report scheduler: time zone %q: %w", cfg.TimeZone, err)
		}
		loc = l
	}
	if strings.Contains(cfg.Schedule, "TZ=") {
		return nil, fmt.Errorf("report scheduler: schedule %q: set the time zone with the time zone setting, not in the expression", cfg.Schedule)
	}
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	sched, err := p.Parse(cfg.Schedule)
	if err != nil {
		return nil, fmt.Errorf("report scheduler: schedule %q: %w", cfg.Schedule, err)
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 12
	}
	if cfg.Span <= 0 {
		cfg.Span = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, sched: sched, loc: loc}, nil
}

// Next is the first run after t.
func (s *Scheduler) Next(t time.Time) time.Time { return s.sched.Next(t.In(s.loc)) }

// Run runs the report at every scheduled time until ctx ends. A failed run
// is logged and the schedule goes on.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		next := s.Next(time.Now())
		if next.IsZero() {
			return fmt.Errorf("report scheduler: schedule %q never fires", s.cfg.Schedule)
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		if name, err := s.RunOnce(ctx, next); err != nil {
			s.cfg.Logger.Error("scheduled report failed", "at", next, "err", err)
		} else {
			s.cfg.Logger.Info("report written", "report", name, "dir", s.cfg.Dir)
		}
	}
}

// RunOnce generates the report of the span ending at `at`, writes it in
// the three formats, prunes old reports and notifies. It returns the name
// of the HTML file.
func (s *Scheduler) RunOnce(ctx context.Context, at time.Time) (string, error) {
	from := at.Add(-s.cfg.Span)
	r, err := s.cfg.Generate(ctx, from, at, s.loc)
	if err != nil {
		return "", fmt.Errorf("generating the report for %s: %w", at.Format(time.RFC3339), err)
	}
	stem := "report-" + at.UTC().Format("20060102T1504Z")
	for _, ext := range []string{".json", ".md", ".html"} { // HTML last: its presence marks a complete report
		var buf bytes.Buffer
		if err := r.Render(&buf, strings.TrimPrefix(strings.Replace(ext, ".md", ".markdown", 1), ".")); err != nil {
			return "", err
		}
		if _, err := atomicfile.Write(filepath.Join(s.cfg.Dir, stem+ext), buf.Bytes(), 0o644); err != nil {
			return "", fmt.Errorf("writing the report: %w", err)
		}
	}
	if err := s.prune(); err != nil {
		return "", err
	}
	name := stem + ".html"
	if s.cfg.Notify != nil {
		link := ""
		if s.cfg.BaseURL != "" {
			link = strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" + name
		}
		if err := s.cfg.Notify(ctx, r, link); err != nil {
			return name, fmt.Errorf("notifying about report %s: %w", name, err)
		}
	}
	return name, nil
}

// Reports lists the kept reports' stems (report-20260309T0900Z), newest first.
func (s *Scheduler) Reports() ([]string, error) {
	ents, err := os.ReadDir(s.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the reports in %s: %w", s.cfg.Dir, err)
	}
	var stems []string
	for _, e := range ents {
		if n := e.Name(); reportName.MatchString(n) && strings.HasSuffix(n, ".html") && e.Type().IsRegular() {
			stems = append(stems, strings.TrimSuffix(n, ".html"))
		}
	}
	slices.Sort(stems)
	slices.Reverse(stems)
	return stems, nil
}

func (s *Scheduler) prune() error {
	stems, err := s.Reports()
	if err != nil {
		return err
	}
	for _, stem := range stems[min(len(stems), s.cfg.Keep):] {
		for ext := range reportTypes {
			if err := os.Remove(filepath.Join(s.cfg.Dir, stem+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing an old report: %w", err)
			}
		}
	}
	return nil
}

// Handler serves the kept reports: the index at the directory path
// (".../reports/"), each file by name, and latest.html, latest.md and
// latest.json for the newest. Mount it at /reports/.
func (s *Scheduler) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(r.URL.Path, "/") {
			s.serveIndex(w, r)
			return
		}
		name := path.Base(r.URL.Path)
		if strings.HasPrefix(name, "latest.") {
			stems, err := s.Reports()
			if err != nil {
				http.Error(w, "listing the reports failed", http.StatusInternalServerError)
				return
			}
			if len(stems) == 0 {
				http.Error(w, "no report yet", http.StatusNotFound)
				return
			}
			name = stems[0] + strings.TrimPrefix(name, "latest")
		}
		if !reportName.MatchString(name) {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(s.cfg.Dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		ext := filepath.Ext(name)
		w.Header().Set("Content-Type", reportTypes[ext])
		if ext == ".html" {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		}
		http.ServeContent(w, r, name, st.ModTime(), f)
	})
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SLO reviews</title>
<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:50em;padding:0 1em}li{margin:.3em 0}</style></head>
<body><h1>SLO reviews</h1>
{{if .}}<ul>{{range .}}<li><a href="{{.Stem}}.html">{{.When}}</a> (<a href="{{.Stem}}.md">Markdown</a>, <a href="{{.Stem}}.json">JSON</a>)</li>
{{end}}</ul>{{else}}<p>No report yet.</p>{{end}}
</body></html>
`))

func (s *Scheduler) serveIndex(w http.ResponseWriter, _ *http.Request) {
	stems, err := s.Reports()
	if err != nil {
		http.Error(w, "listing the reports failed", http.StatusInternalServerError)
		return
	}
	type item struct{ Stem, When string }
	items := make([]item, 0, len(stems))
	for _, st := range stems {
		when := st
		if t, err := time.Parse("20060102T1504Z", strings.TrimPrefix(st, "report-")); err == nil {
			when = "Week ending " + t.In(s.loc).Format("Mon 2 Jan 2006 15:04 MST")
		}
		items = append(items, item{Stem: st, When: when})
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, items); err != nil {
		http.Error(w, "rendering the index failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
