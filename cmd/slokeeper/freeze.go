package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slokeeper/slokeeper/gate"
)

// exitFrozen is `slokeeper freeze check`'s exit code when changes must wait.
const exitFrozen = 3

// Defaults of the gate client.
const (
	defaultDaemonURL = "http://127.0.0.1:9740"
	envDaemonURL     = "SLOKEEPER_URL"
	envToken         = "SLOKEEPER_TOKEN"
)

// freezeCmd is `slokeeper freeze check|start|stop|list`: the gate's client
// for CI/CD pipelines and people.
type freezeCmd struct {
	sub       string
	url       string
	tokenFile string
	timeout   time.Duration
	service   string
	exempt    string
	change    string
	author    string
	reason    string
	duration  time.Duration
	until     string
	failOpen  bool
	output    string
}

func (c *freezeCmd) name() string { return "freeze " + c.sub }

func (c *freezeCmd) register(app *kingpin.Application) {
	f := app.Command("freeze", "The change-freeze gate: ask it from pipelines, start and stop manual freezes.")
	common := func(cmd *kingpin.CmdClause, sub string) {
		cmd.Action(func(*kingpin.ParseContext) error { c.sub = sub; return nil })
		cmd.Flag("url", "The daemon's base URL (default $"+envDaemonURL+", else "+defaultDaemonURL+").").Envar(envDaemonURL).Default(defaultDaemonURL).StringVar(&c.url)
		cmd.Flag("timeout", "Time limit of the call.").Default("30s").DurationVar(&c.timeout)
	}
	withToken := func(cmd *kingpin.CmdClause) {
		cmd.Flag("token-file", "File holding the API bearer token (default: the "+envToken+" environment variable).").StringVar(&c.tokenFile)
	}
	check := f.Command("check", "Exit 0 when changes to the service may go, 3 when it is frozen, 1 on error; print why.")
	common(check, "check")
	check.Flag("service", "Service name, as in the specs.").Required().StringVar(&c.service)
	check.Flag("exempt", "Exemption the change carries: p0 or security. It passes a freeze when the policy accepts it, and is recorded and announced.").EnumVar(&c.exempt, gate.ExemptP0, gate.ExemptSecurity)
	check.Flag("change", "What is being changed (recorded with an exemption); default: the CI commit.").StringVar(&c.change)
	check.Flag("author", "Who changes it (recorded with an exemption); default: the CI user.").StringVar(&c.author)
	check.Flag("fail-open", "When the gate cannot be asked, let the change go (exit 0) instead of failing (exit 1).").BoolVar(&c.failOpen)
	check.Flag("output", "Output: text or json.").Default("text").EnumVar(&c.output, "text", "json")
	withToken(check)

	start := f.Command("start", "Start a manual freeze of a service (needs the API token).")
	common(start, "start")
	withToken(start)
	start.Flag("service", "Service name.").Required().StringVar(&c.service)
	start.Flag("reason", "Why (announced in Slack and PagerDuty).").Required().StringVar(&c.reason)
	start.Flag("author", "Who freezes; default: $USER.").StringVar(&c.author)
	start.Flag("for", "Duration of the freeze (default: until stopped).").DurationVar(&c.duration)
	start.Flag("until", "End of the freeze, RFC 3339 (instead of --for).").StringVar(&c.until)

	stop := f.Command("stop", "End the manual freezes of a service (needs the API token). Other freeze sources are not affected.")
	common(stop, "stop")
	withToken(stop)
	stop.Flag("service", "Service name.").Required().StringVar(&c.service)
	stop.Flag("reason", "Why.").Required().StringVar(&c.reason)
	stop.Flag("author", "Who unfreezes; default: $USER.").StringVar(&c.author)

	list := f.Command("list", "List the active manual freezes.")
	common(list, "list")
}

func (c *freezeCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	token, err := loadToken(c.tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: %v\n", err)
		return exitInvalid
	}
	cl := &gate.Client{URL: c.url, Token: token}
	switch c.sub {
	case "check":
		return c.check(ctx, cl, stdout, stderr)
	case "start":
		return c.start(ctx, cl, stdout, stderr)
	case "stop":
		err := cl.StopFreeze(ctx, c.service, gate.Unfreeze{Author: defaultAuthor(c.author), Reason: c.reason})
		if err != nil {
			fmt.Fprintf(stderr, "slokeeper: stopping the manual freeze of %s: %v\n", c.service, err)
			return exitInvalid
		}
		fmt.Fprintf(stdout, "%s: manual freeze stopped\n", c.service)
		return exitOK
	default: // list
		fs, err := cl.Freezes(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "slokeeper: listing freezes: %v\n", err)
			return exitInvalid
		}
		if len(fs) == 0 {
			fmt.Fprintln(stdout, "no manual freeze")
		}
		for _, f := range fs {
			fmt.Fprintf(stdout, "%s\t#%d by %s since %s until %s: %s\n", f.Service, f.ID, f.Author, fmtTime(f.Start), fmtTime(f.Until), f.Reason)
		}
		return exitOK
	}
}

func (c *freezeCmd) start(ctx context.Context, cl *gate.Client, stdout, stderr io.Writer) int {
	f := gate.ManualFreeze{Service: c.service, Reason: c.reason, Author: defaultAuthor(c.author)}
	switch {
	case c.duration > 0 && c.until != "":
		fmt.Fprintln(stderr, "slokeeper: --for and --until exclude each other")
		return exitInvalid
	case c.duration > 0:
		u := time.Now().Add(c.duration).UTC()
		f.Until = &u
	case c.until != "":
		u, err := time.Parse(time.RFC3339, c.until)
		if err != nil {
			fmt.Fprintf(stderr, "slokeeper: --until: %v\n", err)
			return exitInvalid
		}
		f.Until = &u
	}
	out, err := cl.StartFreeze(ctx, f)
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: starting a manual freeze of %s: %v\n", c.service, err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "%s: manual freeze #%d started until %s\n", out.Service, out.ID, fmtTime(out.Until))
	return exitOK
}

func (c *freezeCmd) check(ctx context.Context, cl *gate.Client, stdout, stderr io.Writer) int {
	failed := func(err error) int {
		if c.failOpen {
			fmt.Fprintf(stderr, "slokeeper: WARNING: the freeze gate could not be asked (%v); --fail-open lets the change go\n", err)
			return exitOK
		}
		fmt.Fprintf(stderr, "slokeeper: the freeze gate could not be asked: %v\n", err)
		return exitInvalid
	}
	d, err := cl.Check(ctx, c.service, c.exempt)
	if err != nil {
		return failed(err)
	}
	if d.Frozen && d.Allowed && d.Exempted {
		e := gate.Exemption{Service: c.service, Kind: c.exempt, Change: defaultChange(c.change), Author: defaultAuthor(c.author)}
		if err := cl.RecordExemption(ctx, e); err != nil {
			// An exemption that cannot be recorded is not used.
			return failed(fmt.Errorf("recording the %s exemption: %w", c.exempt, err))
		}
	}
	if c.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d)
	} else {
		printDecision(stdout, d)
	}
	if !d.Allowed {
		return exitFrozen
	}
	return exitOK
}

func printDecision(w io.Writer, d gate.Decision) {
	switch {
	case d.Frozen && d.Exempted:
		fmt.Fprintf(w, "%s: FROZEN, but the %s exemption lets this change go (recorded)\n", d.Service, d.Exemption)
	case d.Frozen:
		fmt.Fprintf(w, "%s: FROZEN since %s", d.Service, fmtTime(d.Since))
		if d.Until != nil {
			fmt.Fprintf(w, " until %s", fmtTime(d.Until))
		}
		fmt.Fprintf(w, " (%s): changes must wait\n", strings.Join(d.Sources, ", "))
	default:
		fmt.Fprintf(w, "%s: changes allowed\n", d.Service)
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if len(d.Budget) > 0 {
		names := make([]string, 0, len(d.Budget))
		for n := range d.Budget {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			v := "unknown"
			if b := d.Budget[n]; b != nil {
				v = fmt.Sprintf("%.1f%%", *b*100)
			}
			parts = append(parts, n+" "+v)
		}
		fmt.Fprintf(w, "  error budget left: %s\n", strings.Join(parts, ", "))
	}
	if d.Stale {
		fmt.Fprintln(w, "  note: the budget data is stale; the decision rests on the last good read")
	}
	if d.Frozen && !d.Exempted && len(d.Exemptions) > 0 {
		fmt.Fprintf(w, "  exemptions accepted: %s (--exempt)\n", strings.Join(d.Exemptions, ", "))
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// loadToken reads the bearer token from file, else from $SLOKEEPER_TOKEN.
func loadToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(envToken)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", errors.New("the token file " + file + " is empty")
	}
	return t, nil
}

// defaultAuthor is the CI user or the login name.
func defaultAuthor(a string) string {
	return firstEnv(a, "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR", "USER", "USERNAME")
}

// defaultChange is the CI commit or pipeline.
func defaultChange(c string) string {
	return firstEnv(c, "GITHUB_SHA", "CI_COMMIT_SHA", "ARGOCD_APP_REVISION", "BUILD_SOURCEVERSION")
}

func firstEnv(v string, names ...string) string {
	if v != "" {
		return v
	}
	for _, n := range names {
		if s := os.Getenv(n); s != "" {
			return s
		}
	}
	return "unknown"
}
