package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// blockDuration is the time range of the blocks of recorded series: a
// Prometheus compaction range (2h x 3^4), and short enough for promtool's
// rule backfill, which queries one block at a time, to stay under 11,000
// points per series at a 1m step. Merged with the raw blocks they overlap,
// they are the final blocks, which Prometheus leaves as they are.
const blockDuration = 162 * time.Hour

// rawBlockDuration is the time range of each OpenMetrics file and raw block
// (2h x 3^3): smaller files spread evenly over the promtool workers.
const rawBlockDuration = 54 * time.Hour

// history is the synthetic history and where it lives.
type history struct {
	Start, End time.Time // first and last sample
	Step       time.Duration
}

// backfillRaw writes the raw counters at every step of h as OpenMetrics,
// one file per raw block, turns each file into a TSDB block with promtool
// (workers in parallel), and moves the blocks into dataDir.
func backfillRaw(ctx context.Context, promtool string, tr *traffic, h history, work, dataDir string, workers int, logf func(string, ...any)) error {
	type job struct {
		path string
		n    int
	}
	jobs := make(chan job, workers)
	g, ctx := newGroup(ctx)
	g.Go(func() error {
		defer close(jobs)
		from := h.Start
		for n := 0; !from.After(h.End); n++ {
			// Prometheus aligns blocks on multiples of their range since the Unix epoch.
			bd := rawBlockDuration.Milliseconds()
			to := time.UnixMilli((from.UnixMilli()/bd + 1) * bd)
			if to.After(h.End) {
				to = h.End.Add(h.Step)
			}
			path := filepath.Join(work, fmt.Sprintf("history-%02d.om", n))
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			began := time.Now()
			err = tr.writeOpenMetrics(f, from, to, h.Step)
			logf("history file %d (%s): written in %s", n, to.Sub(from), time.Since(began).Round(time.Second))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
			select {
			case jobs <- job{path, n}:
			case <-ctx.Done():
				return ctx.Err()
			}
			from = to
		}
		return nil
	})
	outs := make([]string, workers)
	for w := range workers {
		outs[w] = filepath.Join(work, fmt.Sprintf("blocks-raw-%d", w))
		g.Go(func() error {
			if err := os.MkdirAll(outs[w], 0o755); err != nil {
				return err
			}
			for j := range jobs {
				began := time.Now()
				// Blocks of a file written by one process into its own directory:
				// promtool opens its output directory as a TSDB.
				err := runCmd(ctx, promtool, "tsdb", "create-blocks-from", "--max-block-duration="+rawBlockDuration.String(),
					"openmetrics", "--quiet", j.path, outs[w])
				if rerr := os.Remove(j.path); err == nil {
					err = rerr
				}
				if err != nil {
					return err
				}
				logf("history file %d: converted in %s", j.n, time.Since(began).Round(time.Second))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, o := range outs {
		if err := moveBlocks(o, dataDir); err != nil {
			return err
		}
	}
	return nil
}

// backfillRules backfills the recorded history of every tool's plan, level
// by level: Prometheus serves dataDir, promtool evaluates each level's rules
// over the history (at each group's interval, 1m for groups without one),
// and the blocks join dataDir before the next level. It leaves Prometheus
// running until it has merged the new blocks into the overlapping ones
// (vertical compaction), so that the measured servers start with no
// compaction to do.
func backfillRules(ctx context.Context, cfg config, plans map[string]backfillPlan, h history, work, dataDir string, logf func(string, ...any)) error {
	levels := 0
	for _, p := range plans {
		levels = max(levels, len(p.Levels))
	}
	promCfg := filepath.Join(work, "backfill.yml")
	if err := os.WriteFile(promCfg, []byte("global: {evaluation_interval: "+cfg.evalInterval.String()+"}\n"), 0o644); err != nil {
		return err
	}
	// Rules are evaluated from 10 minutes into the history, when every
	// 5m-rate has data, to its end.
	start := h.Start.Add(10 * time.Minute)
	for l := range levels {
		last := l == levels-1
		extra := []string{"--storage.tsdb.retention.time=" + retention(cfg), "--storage.tsdb.max-block-duration=" + minBlock}
		prom, err := startPrometheus(ctx, cfg.prometheus, promCfg, dataDir, extra...)
		if err != nil {
			return err
		}
		began := time.Now()
		g, gctx := newGroup(ctx)
		var outs []string
		for _, name := range sortedKeys(plans) {
			p := plans[name]
			if l >= len(p.Levels) {
				continue
			}
			file := filepath.Join(work, fmt.Sprintf("backfill-%s-level%d.yml", name, l+1))
			if err := writeRuleFile(file, p.Levels[l]); err != nil {
				prom.stop()
				return err
			}
			out := filepath.Join(work, fmt.Sprintf("blocks-%s-level%d", name, l+1))
			outs = append(outs, out)
			g.Go(func() error {
				return runCmd(gctx, cfg.promtool, "tsdb", "create-blocks-from", "--max-block-duration="+blockDuration.String(),
					"rules", "--quiet", "--url=http://"+prom.addr, "--start="+fmt.Sprint(start.Unix()), "--end="+fmt.Sprint(h.End.Unix()),
					"--eval-interval="+cfg.evalInterval.String(), "--output-dir="+out, file)
			})
		}
		if err := g.Wait(); err != nil {
			prom.stop()
			return fmt.Errorf("backfilling level %d: %w", l+1, err)
		}
		logf("recorded history, level %d: %s", l+1, time.Since(began).Round(time.Second))
		if !last {
			prom.stop()
		}
		for _, o := range outs {
			if err := moveBlocks(o, dataDir); err != nil {
				prom.stop()
				return err
			}
		}
		if last {
			// Prometheus reloads its blocks every minute and then compacts.
			began = time.Now()
			err := waitNoOverlap(ctx, dataDir, 10*time.Minute)
			prom.stop()
			if err != nil {
				return err
			}
			logf("merged the overlapping blocks: %s", time.Since(began).Round(time.Second))
		}
	}
	return nil
}

// minBlock is Prometheus's smallest block range. Setting the largest range
// to it stops leveled compaction (the backfilled blocks are larger anyway);
// overlapping blocks are still merged.
const minBlock = "2h"

func retention(cfg config) string {
	return fmt.Sprintf("%dd", cfg.days+30)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// blockMeta is the part of a block's meta.json the benchmark reads.
type blockMeta struct {
	ULID    string `json:"ulid"`
	MinTime int64  `json:"minTime"`
	MaxTime int64  `json:"maxTime"`
	Stats   struct {
		NumSamples uint64 `json:"numSamples"`
		NumSeries  uint64 `json:"numSeries"`
	} `json:"stats"`
}

// blocks lists the complete blocks of a TSDB directory.
func blocks(dir string) ([]blockMeta, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []blockMeta
	for _, e := range entries {
		if !e.IsDir() || len(e.Name()) != 26 { // ULIDs; not wal, chunks_head, *.tmp-*
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // being deleted
		}
		if err != nil {
			return nil, err
		}
		var m blockMeta
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MinTime < out[j].MinTime })
	return out, nil
}

func overlapping(bs []blockMeta) bool {
	for i := 1; i < len(bs); i++ {
		if bs[i].MinTime < bs[i-1].MaxTime {
			return true
		}
	}
	return false
}

func waitNoOverlap(ctx context.Context, dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		bs, err := blocks(dir)
		if err != nil {
			return err
		}
		if !overlapping(bs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: blocks still overlap after %s", dir, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// moveBlocks moves the block directories of from into to, and removes from.
func moveBlocks(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || len(e.Name()) != 26 {
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return os.RemoveAll(from)
}

// runCmd runs a command, returning its output in the error when it fails.
func runCmd(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.tail(4000))
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b) > n {
		return string(l.b[len(l.b)-n:])
	}
	return string(l.b)
}

// group runs functions in goroutines and returns the first error; the
// first error cancels its context.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
