package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/internal/atomicfile"
	"github.com/slokeeper/slokeeper/report"
)

// reportCmd is `slokeeper report`: the weekly burn-rate review.
type reportCmd struct {
	promURL      string
	since        string
	until        string
	service      string
	format       string
	timeZone     string
	output       string
	daemonURL    string
	alertEvery   time.Duration
	timeout      time.Duration
	slack        bool
	slackToken   string
	slackChannel string
	slackHook    string
	slackAPIURL  string
	reportURL    string
}

func (c *reportCmd) name() string { return "report" }
func (c *reportCmd) register(app *kingpin.Application) {
	cmd := app.Command("report", "Write the weekly burn-rate review of the SLOs from Prometheus (Markdown, HTML, JSON; optionally a Slack digest).")
	cmd.Flag("prometheus.url", "Prometheus (or Thanos, Mimir) base URL holding slokeeper's recorded series.").Required().StringVar(&c.promURL)
	cmd.Flag("since", "Start of the review: a duration before --until (7d) or an RFC 3339 time.").Default("7d").StringVar(&c.since)
	cmd.Flag("until", "End of the review: now, a duration before now (1d) or an RFC 3339 time.").Default("now").StringVar(&c.until)
	cmd.Flag("service", "Only this service.").StringVar(&c.service)
	cmd.Flag("format", "Output format.").Short('f').Default(report.FormatMarkdown).EnumVar(&c.format, report.FormatMarkdown, report.FormatHTML, report.FormatJSON)
	cmd.Flag("time-zone", "Time zone of the times in the report (IANA name).").Default("UTC").StringVar(&c.timeZone)
	cmd.Flag("output", "Write the report to this file instead of standard output.").Short('o').StringVar(&c.output)
	cmd.Flag("daemon.url", "slokeeper daemon base URL to read the freeze history from (without it the report has no freezes).").StringVar(&c.daemonURL)
	cmd.Flag("alert-interval", "Evaluation interval of the alert rule group (the alert timeline's resolution).").Default("1m").DurationVar(&c.alertEvery)
	cmd.Flag("timeout", "Time limit of the whole report.").Default("2m").DurationVar(&c.timeout)
	cmd.Flag("slack", "Also post a digest to Slack.").BoolVar(&c.slack)
	cmd.Flag("slack.token-file", "File holding a Slack bot token (chat.postMessage), with --slack.channel.").StringVar(&c.slackToken)
	cmd.Flag("slack.channel", "Slack channel ID or name for the digest.").StringVar(&c.slackChannel)
	cmd.Flag("slack.webhook-url-file", "File holding a Slack incoming-webhook URL (instead of a token).").StringVar(&c.slackHook)
	cmd.Flag("slack.api-url", "Slack API base URL.").Default("https://slack.com/api/").Hidden().StringVar(&c.slackAPIURL)
	cmd.Flag("report.url", "Where the HTML report is published; the Slack digest links to it.").StringVar(&c.reportURL)
}

func (c *reportCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "slokeeper: "+format+"\n", args...)
		return exitInvalid
	}
	loc, err := time.LoadLocation(c.timeZone)
	if err != nil {
		return fail("--time-zone %q: %v", c.timeZone, err)
	}
	now := time.Now()
	to, err := parseWhen(c.until, now, now)
	if err != nil {
		return fail("--until: %v", err)
	}
	from, err := parseWhen(c.since, to, now)
	if err != nil {
		return fail("--since: %v", err)
	}
	if !from.Before(to) {
		return fail("--since (%s) must be before --until (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var sender *report.SlackSender
	if c.slack {
		s, err := c.slackSender()
		if err != nil {
			return fail("%v", err)
		}
		sender = s
	}
	client, err := api.NewClient(api.Config{Address: c.promURL})
	if err != nil {
		return fail("--prometheus.url %q: %v", c.promURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	opts := report.Options{From: from, To: to, Service: c.service, Location: loc, AlertInterval: c.alertEvery, Now: now}
	if c.daemonURL != "" {
		opts.Freezes = report.HTTPFreezeHistory{BaseURL: c.daemonURL}
	}
	rev, err := report.Build(ctx, v1.NewAPI(client), opts)
	if err != nil {
		return fail("%v", err)
	}
	var buf bytes.Buffer
	if err := rev.Render(&buf, c.format); err != nil {
		return fail("%v", err)
	}
	if c.output == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fail("writing the report: %v", err)
		}
	} else if _, err := atomicfile.Write(c.output, buf.Bytes(), 0o644); err != nil {
		return fail("%v", err)
	}
	for _, w := range rev.Warnings {
		fmt.Fprintf(stderr, "slokeeper: warning: %s\n", w)
	}
	if sender != nil {
		if err := sender.Send(ctx, rev, c.reportURL); err != nil {
			return fail("%v", err)
		}
	}
	return exitOK
}

func (c *reportCmd) slackSender() (*report.SlackSender, error) {
	switch {
	case c.slackHook != "" && c.slackToken != "":
		return nil, fmt.Errorf("--slack: give either --slack.webhook-url-file or --slack.token-file, not both")
	case c.slackHook != "":
		u, err := readSecret(c.slackHook)
		if err != nil {
			return nil, err
		}
		return &report.SlackSender{WebhookURL: u}, nil
	case c.slackToken != "":
		if c.slackChannel == "" {
			return nil, fmt.Errorf("--slack.token-file needs --slack.channel")
		}
		tok, err := readSecret(c.slackToken)
		if err != nil {
			return nil, err
		}
		return &report.SlackSender{Token: tok, Channel: c.slackChannel, APIURL: c.slackAPIURL}, nil
	}
	return nil, fmt.Errorf("--slack needs --slack.webhook-url-file, or --slack.token-file and --slack.channel")
}

// readSecret reads a one-line secret file (the content is never printed).
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// parseWhen reads "now", a Prometheus duration before ref ("7d"), or an
// RFC 3339 time.
func parseWhen(s string, ref, now time.Time) (time.Time, error) {
	if s == "now" || s == "" {
		return now, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return ref.Add(-time.Duration(d)), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither now, a duration (7d) nor an RFC 3339 time", s)
	}
	return t, nil
}
