package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

func TestScheduler(t *testing.T) {
	dir := t.TempDir()
	var notified []string
	s, err := NewScheduler(SchedulerConfig{
		Schedule: "0 9 * * MON", TimeZone: "Europe/Berlin", Dir: dir, Keep: 2, BaseURL: "https://slo.example/reports/",
		Generate: func(ctx context.Context, from, to time.Time, loc *time.Location) (*Review, error) {
			f, fr := scenario()
			return Build(ctx, f, Options{From: from, To: to, Freezes: fr, Location: loc})
		},
		Notify: func(_ context.Context, _ *Review, link string) error { notified = append(notified, link); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Next run: Monday 09:00 Berlin (08:00 UTC in winter).
	next := s.Next(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next run %v, want %v", next, want)
	}
	for i := range 3 {
		if _, err := s.RunOnce(context.Background(), t1.Add(time.Duration(i)*week)); err != nil {
			t.Fatal(err)
		}
	}
	stems, err := s.Reports()
	if err != nil {
		t.Fatal(err)
	}
	if len(stems) != 2 || stems[0] != "report-20260323T0900Z" || stems[1] != "report-20260316T0900Z" {
		t.Errorf("kept %v, want the last two", stems)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 6 {
		t.Errorf("%d files kept, want 6", len(ents))
	}
	if len(notified) != 3 || notified[2] != "https://slo.example/reports/report-20260323T0900Z.html" {
		t.Errorf("notified %v", notified)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("no"), 0o600); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.StripPrefix("/reports", s.Handler()))
	defer srv.Close()
	for _, tc := range []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/reports/", "text/html; charset=utf-8", `href="report-20260323T0900Z.html"`, 200},
		{"/reports/report-20260316T0900Z.md", "text/markdown; charset=utf-8", "# SLO review", 200},
		{"/reports/report-20260316T0900Z.json", "application/json", `"services"`, 200},
		{"/reports/latest.html", "text/html; charset=utf-8", "23 Mar 2026", 200},
		{"/reports/report-20260309T0900Z.html", "", "", 404}, // pruned
		{"/reports/secret.txt", "", "", 404},
		{"/reports/..%2fsecret.txt", "", "", 404},
		{"/reports/../../etc/passwd", "", "", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.code)
			continue
		}
		if tc.code == 200 && (resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(body), tc.contains)) {
			t.Errorf("%s: %s, body lacks %q", tc.path, resp.Header.Get("Content-Type"), tc.contains)
		}
	}
	if resp, err := http.Post(srv.URL+"/reports/", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST accepted: %v", err)
	}
}

func TestSchedulerConfigErrors(t *testing.T) {
	gen := func(context.Context, time.Time, time.Time, *time.Location) (*Review, error) { return nil, nil }
	for name, cfg := range map[string]SchedulerConfig{
		"bad cron":  {Schedule: "every monday", Dir: "x", Generate: gen},
		"bad zone":  {Schedule: "@weekly", TimeZone: "Nowhere/Land", Dir: "x", Generate: gen},
		"tz inline": {Schedule: "CRON_TZ=UTC 0 9 * * 1", Dir: "x", Generate: gen},
		"no dir":    {Schedule: "@weekly", Generate: gen},
		"no gen":    {Schedule: "@weekly", Dir: "x"},
	} {
		if _, err := NewScheduler(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSlackLimits(t *testing.T) {
	r := &Review{From: t0, To: t1, TimeZone: "UTC"}
	for i := range 120 {
		s := ServiceReview{Service: fmt.Sprintf("svc-%03d <&>", i), Risk: Risk{Level: RiskOK}}
		for j := range 80 {
			s.SLOs = append(s.SLOs, SLOReview{Service: s.Service, SLO: fmt.Sprintf("slo-%d-%s", j, strings.Repeat("x", 40)), Objective: 0.999})
		}
		r.Services = append(r.Services, s)
	}
	blocks := r.SlackBlocks("https://slo.example/r.html")
	if len(blocks) > SlackMaxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	raw, err := json.Marshal(slack.Blocks{BlockSet: blocks})
	if err != nil {
		t.Fatal(err)
	}
	var decoded []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, b := range decoded {
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > SlackMaxSectionText {
			t.Errorf("%s block text of %d characters", b.Type, utf8.RuneCountInString(b.Text.Text))
		}
		if b.Text != nil && strings.Contains(b.Text.Text, "<&>") {
			t.Errorf("unescaped mrkdwn: %q", b.Text.Text[:40])
		}
	}
	if last := decoded[len(decoded)-1]; last.Type != "actions" || !strings.Contains(string(raw), "https://slo.example/r.html") {
		t.Errorf("no link button at the end")
	}
	if !strings.Contains(string(raw), "more service(s)") || !strings.Contains(string(raw), "more SLO(s)") {
		t.Error("truncation not said")
	}
}

func TestSlackSend(t *testing.T) {
	r, _ := build(t)
	var got map[string]any
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		auth = req.Header.Get("Authorization") + req.Form.Get("token")
		got = map[string]any{"path": req.URL.Path, "channel": req.Form.Get("channel"), "blocks": req.Form.Get("blocks")}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
	}))
	defer srv.Close()
	if err := (SlackSender{Token: "xoxb-secret", Channel: "C1", APIURL: srv.URL}).Send(context.Background(), r, "https://x/r.html"); err != nil {
		t.Fatal(err)
	}
	if got["path"] != "/chat.postMessage" || got["channel"] != "C1" || !strings.Contains(auth, "xoxb-secret") || !strings.Contains(got["blocks"].(string), "checkout") {
		t.Errorf("request %v auth %q", got, auth)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	defer bad.Close()
	err := (SlackSender{WebhookURL: bad.URL + "/services/secret-path"}).Send(context.Background(), r, "")
	if err == nil || strings.Contains(err.Error(), "secret-path") {
		t.Errorf("webhook error %v (must not show the URL)", err)
	}
	if err := (SlackSender{}).Send(context.Background(), r, ""); err == nil {
		t.Error("no target accepted")
	}
}

func TestFreezeHistoryHTTP(t *testing.T) {
	_, fr := scenario()
	srv := httptest.NewServer(FreezeHistoryHandler(fr))
	defer srv.Close()
	got, err := HTTPFreezeHistory{BaseURL: srv.URL}.FreezePeriods(context.Background(), checkout, t0, t1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[2].End.IsZero() || got[0].Reasons[0] != "error budget of availability exhausted" {
		t.Errorf("periods %+v", got)
	}
	resp, err := http.Get(srv.URL + FreezeHistoryPath + "?from=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad from: status %d", resp.StatusCode)
	}
	nf := httptest.NewServer(http.NotFoundHandler())
	defer nf.Close()
	if _, err := (HTTPFreezeHistory{BaseURL: nf.URL}).FreezePeriods(context.Background(), "", t0, t1); err == nil || !strings.Contains(err.Error(), "404") {
		t.Error("404 not reported")
	}
}
