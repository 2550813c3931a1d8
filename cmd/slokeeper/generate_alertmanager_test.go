package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/alertmanager"
	"github.com/slokeeper/slokeeper/slo/loader"
)

func TestGenerateAlertmanager(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	amFile := filepath.Join(out, "alertmanager", "slokeeper.yml")

	// Defaults: the documented secret files, channel and placeholder.
	if code, stdout, errs := runCLI(t, "generate", "-o", out, "../../testdata/slos"); code != 0 {
		t.Fatalf("generate: %d %s %s", code, stdout, errs)
	}
	data, err := os.ReadFile(amFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"routing_key_file: " + defaultPagerDutyKeyFile, "api_url_file: " + defaultSlackURLFile,
		"channel: '" + defaultSlackChannel + "'", "url: " + defaultDeadLetterURL, "group_wait: 30s", "repeat_interval: 4h",
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("default config lacks %q", want)
		}
	}

	// Flags reach the file, which is exactly what the package generates.
	args := []string{"generate", "-o", out,
		"--alertmanager.pagerduty-routing-key-file=/run/secrets/pd-key",
		"--alertmanager.pagerduty-url=https://events.eu.pagerduty.com/v2/enqueue",
		"--alertmanager.slack-api-url-file=/run/secrets/slack-url",
		"--alertmanager.slack-channel=#ops",
		"--alertmanager.dead-letter-url=https://hooks.example.com/dead-letter",
		"--alertmanager.group-wait=10s", "--alertmanager.group-interval=1m",
		"--alertmanager.repeat-interval=2h", "--alertmanager.ticket-repeat-interval=12h",
		"../../testdata/slos"}
	if code, stdout, errs := runCLI(t, args...); code != 0 || !strings.Contains(stdout, "1 file(s) written") {
		t.Fatalf("generate with flags: %d %s %s", code, stdout, errs)
	}
	res, err := loader.Load(context.Background(), []string{"../../testdata/slos"}, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := alertmanager.Generate(res.SLOs, alertmanager.Options{
		PagerDutyRoutingKeyFile: "/run/secrets/pd-key",
		PagerDutyURL:            "https://events.eu.pagerduty.com/v2/enqueue",
		SlackAPIURLFile:         "/run/secrets/slack-url",
		SlackChannel:            "#ops",
		DeadLetterURL:           "https://hooks.example.com/dead-letter",
		GroupWait:               10 * time.Second, GroupInterval: time.Minute,
		RepeatInterval: 2 * time.Hour, TicketRepeatInterval: 12 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, err = os.ReadFile(amFile); err != nil || !bytes.Equal(data, want[0].Data) {
		t.Errorf("alertmanager/slokeeper.yml is not the package's output (%v)", err)
	}

	// A stale file of slokeeper's alertmanager/ folder is removed.
	stale := filepath.Join(out, "alertmanager", "old.yml")
	if err := os.WriteFile(stale, []byte("route: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := runCLI(t, args...); code != 0 || !strings.Contains(stdout, "1 removed") {
		t.Errorf("pruning: %s", stdout)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale file kept: %v", err)
	}

	// --no-alertmanager leaves the folder alone.
	if err := os.WriteFile(stale, []byte("route: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, errs := runCLI(t, "generate", "-o", out, "--no-alertmanager", "../../testdata/slos"); code != 0 || !strings.Contains(stdout, " 0 removed") {
		t.Errorf("--no-alertmanager: %d %s %s", code, stdout, errs)
	}
	for _, p := range []string{stale, amFile} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("--no-alertmanager touched %s: %v", p, err)
		}
	}
}

func TestGenerateAlertmanagerInvalidOptions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, _, errs := runCLI(t, "generate", "-o", out, "--alertmanager.dead-letter-url=ftp://user:s3cret@host/x", "../../testdata/slos")
	if code != exitInvalid || !strings.Contains(errs, "dead-letter URL") {
		t.Fatalf("bad dead-letter URL: %d %q", code, errs)
	}
	if strings.Contains(errs, "s3cret") {
		t.Errorf("the error shows the URL's password: %q", errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("files were written despite the error: %v", err)
	}
}
