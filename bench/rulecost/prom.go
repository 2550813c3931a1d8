package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
)

// promServer is one Prometheus process started by the benchmark, listening
// on 127.0.0.1 on a free port. It is stopped by its own PID.
type promServer struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	exited  chan struct{}
	waitErr error
	api     *promAPI
}

// startPrometheus starts bin with the config file and storage dir (and extra
// flags), and waits until it is ready.
func startPrometheus(ctx context.Context, bin, configFile, dataDir string, extra ...string) (*promServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(filepath.Dir(configFile), "prometheus-"+filepath.Base(dataDir)+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	args := append([]string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr,
	}, extra...)
	// Not exec.CommandContext: the process is stopped by stop, gracefully.
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &promServer{cmd: cmd, addr: addr, logPath: logPath, exited: make(chan struct{}), api: newPromAPI("http://" + addr)}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, 2*time.Minute); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *promServer) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/-/ready", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("prometheus exited before it was ready (%v); log:\n%s", p.waitErr, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready after %s: %w; log:\n%s", timeout, ctx.Err(), p.logTail())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the process, waits for it to exit (so that the TSDB
// is closed cleanly), and kills it after 30 s.
func (p *promServer) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// cpuSeconds is the user+system CPU time the process has used so far.
func (p *promServer) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.cmd.Process.Pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.cmd.Process.Pid)
	}
	// Fields 14 and 15 of stat (utime, stime), in clock ticks; f[0] is field 3.
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticks = 100 // USER_HZ on Linux
	return (ut + st) / ticks, nil
}

func (p *promServer) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

// freeAddr returns a free 127.0.0.1 address. The port is free when checked;
// a process started right after takes it.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// promAPI is a minimal client of Prometheus's HTTP API.
type promAPI struct {
	base   string
	client *http.Client
}

func newPromAPI(base string) *promAPI {
	return &promAPI{base: base, client: &http.Client{Timeout: 2 * time.Minute}}
}

// get calls GET path with params and decodes the response's data into out.
func (a *promAPI) get(ctx context.Context, path string, params url.Values, out any) error {
	u := a.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", path, resp.StatusCode, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s %s: %s", path, params.Get("query"), env.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("GET %s: decoding: %w", path, err)
	}
	return nil
}

// sample is one point of a query result.
type sample struct {
	T time.Time
	V float64
}

func (s *sample) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	var ts float64
	var v string
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[1], &v); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return err
	}
	s.T = time.UnixMilli(int64(ts*1000 + 0.5))
	s.V = f
	return nil
}

// vecSample is one series of an instant vector or matrix result.
type vecSample struct {
	Metric map[string]string `json:"metric"`
	Value  sample            `json:"value"`
	Values []sample          `json:"values"`
}

// query runs an instant query at t; the result must be a vector or matrix.
func (a *promAPI) query(ctx context.Context, q string, t time.Time) ([]vecSample, error) {
	var data struct {
		ResultType string      `json:"resultType"`
		Result     []vecSample `json:"result"`
	}
	params := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)}}
	if err := a.get(ctx, "/api/v1/query", params, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" && data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %s: result type %s, want vector or matrix", q, data.ResultType)
	}
	return data.Result, nil
}

// series lists the series matching match with samples in [start, end].
func (a *promAPI) series(ctx context.Context, match string, start, end time.Time) ([]map[string]string, error) {
	var out []map[string]string
	params := url.Values{
		"match[]": {match},
		"start":   {strconv.FormatInt(start.Unix(), 10)},
		"end":     {strconv.FormatInt(end.Unix(), 10)},
	}
	if err := a.get(ctx, "/api/v1/series", params, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ruleGroupStatus is one group of /api/v1/rules.
type ruleGroupStatus struct {
	Name           string       `json:"name"`
	File           string       `json:"file"`
	Interval       float64      `json:"interval"`
	EvaluationTime float64      `json:"evaluationTime"`
	LastEvaluation time.Time    `json:"lastEvaluation"`
	Rules          []ruleStatus `json:"rules"`
}

type ruleStatus struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Labels         map[string]string `json:"labels"`
	Type           string            `json:"type"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError"`
	EvaluationTime float64           `json:"evaluationTime"`
}

// groupMetric is what Prometheus exports about one rule group.
type groupMetric struct {
	LastEvaluation float64 // prometheus_rule_group_last_evaluation_timestamp_seconds
	LastDuration   float64 // prometheus_rule_group_last_duration_seconds
}

// ruleGroupMetrics reads Prometheus's own /metrics and returns, by
// rule_group ("file;name"), the last evaluation's time and duration.
func (a *promAPI) ruleGroupMetrics(ctx context.Context) (map[string]groupMetric, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	return parseRuleGroupMetrics(resp.Body)
}

func parseRuleGroupMetrics(r io.Reader) (map[string]groupMetric, error) {
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w", err)
	}
	out := map[string]groupMetric{}
	set := func(name string, f func(*groupMetric, float64)) {
		fam := fams[name]
		if fam == nil {
			return
		}
		for _, m := range fam.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "rule_group" {
					key = l.GetValue()
				}
			}
			if key == "" || m.GetGauge() == nil {
				continue
			}
			g := out[key]
			f(&g, m.GetGauge().GetValue())
			out[key] = g
		}
	}
	set("prometheus_rule_group_last_evaluation_timestamp_seconds", func(g *groupMetric, v float64) { g.LastEvaluation = v })
	set("prometheus_rule_group_last_duration_seconds", func(g *groupMetric, v float64) { g.LastDuration = v })
	return out, nil
}

func (a *promAPI) rules(ctx context.Context) ([]ruleGroupStatus, error) {
	var data struct {
		Groups []ruleGroupStatus `json:"groups"`
	}
	if err := a.get(ctx, "/api/v1/rules", nil, &data); err != nil {
		return nil, err
	}
	return data.Groups, nil
}
