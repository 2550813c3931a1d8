package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// fakePrometheus speaks the parts of the Prometheus HTTP API the report
// uses: one SLO, checkout/availability at 99.9% over 28d, budget 50% left,
// 30 errors in 100,000 events this week.
func fakePrometheus(t *testing.T) *httptest.Server {
	t.Helper()
	sample := func(labels string, v string) string {
		return fmt.Sprintf(`{"metric":{%s},"value":[1700000000,"%s"]}`, labels, v)
	}
	co := `"service":"checkout","slo":"availability","team":"payments"`
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/query_range":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
			return
		case "/api/v1/query":
		default:
			http.NotFound(w, r)
			return
		}
		var res []string
		switch {
		case strings.Contains(q, "slo:info"):
			res = append(res, sample(co+`,"slo_period":"28d","slo_objective":"99.9","slo_sli_kind":"ratio"`, "1"))
		case strings.Contains(q, "slo:objective:ratio"):
			res = append(res, sample(co, "0.999"))
		case strings.Contains(q, "slo:period:seconds"):
			res = append(res, sample(co, "2419200"))
		case strings.Contains(q, "slo:error_budget:remaining"):
			res = append(res, sample(co, "0.5"))
		case strings.Contains(q, "slo:sli_errors:rate5m_sum1h"):
			res = append(res, sample(co, "30"))
		case strings.Contains(q, "slo:sli_total:rate5m_sum1h"):
			res = append(res, sample(co, "100000"))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(res, ","))
	}))
}

// runReport parses args for the report command alone and runs it.
func runReport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := kingpin.New("slokeeper", "")
	app.Terminate(nil)
	app.UsageWriter(io.Discard)
	app.ErrorWriter(io.Discard)
	c := &reportCmd{}
	c.register(app)
	if _, err := app.Parse(append([]string{"report"}, args...)); err != nil {
		return exitInvalid, "", err.Error()
	}
	code := c.run(context.Background(), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestReportCommand(t *testing.T) {
	prom := fakePrometheus(t)
	defer prom.Close()
	var mu sync.Mutex
	var slackBody []byte
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		slackBody, _ = io.ReadAll(r.Body)
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	defer slack.Close()
	dir := t.TempDir()
	hook := filepath.Join(dir, "hook")
	if err := os.WriteFile(hook, []byte(slack.URL+"/services/T/B/secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runReport(t, "--prometheus.url", prom.URL, "--since", "7d", "--until", "2026-03-09T09:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# SLO review 2 Mar – 9 Mar 2026", "| checkout | payments | ok | 50% | 7.5% |", "| SLI this week | 99.970% |"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}

	html := filepath.Join(dir, "out", "report.html")
	code, _, errOut = runReport(t, "--prometheus.url", prom.URL, "--format", "html", "-o", html,
		"--slack", "--slack.webhook-url-file", hook, "--report.url", "https://reports.example/r.html")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("HTML report not written with charts: %v", err)
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	mu.Lock()
	defer mu.Unlock()
	if err := json.Unmarshal(slackBody, &msg); err != nil || len(msg.Blocks) == 0 || !strings.Contains(string(slackBody), "https://reports.example/r.html") {
		t.Errorf("Slack digest %s (%v)", slackBody, err)
	}
}

func TestReportCommandErrors(t *testing.T) {
	prom := fakePrometheus(t)
	defer prom.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no url":          {nil, "prometheus.url"},
		"bad since":       {[]string{"--prometheus.url", prom.URL, "--since", "lastweek"}, "--since"},
		"since after":     {[]string{"--prometheus.url", prom.URL, "--since", "2030-01-01T00:00:00Z"}, "must be before"},
		"bad zone":        {[]string{"--prometheus.url", prom.URL, "--time-zone", "Mars/Olympus"}, "--time-zone"},
		"bad format":      {[]string{"--prometheus.url", prom.URL, "--format", "pdf"}, "markdown,html,json"},
		"unreachable":     {[]string{"--prometheus.url", down.URL}, "querying Prometheus"},
		"slack no target": {[]string{"--prometheus.url", prom.URL, "--slack"}, "--slack needs"},
		"slack no file":   {[]string{"--prometheus.url", prom.URL, "--slack", "--slack.token-file", "/nonexistent", "--slack.channel", "c"}, "secret file"},
		"daemon down":     {[]string{"--prometheus.url", prom.URL, "--daemon.url", down.URL}, "freeze history"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runReport(t, tc.args...)
			if code != exitInvalid || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 mentioning %q", code, errOut, tc.want)
			}
		})
	}
}
