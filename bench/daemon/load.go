package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// loadResult is one open-loop run.
type loadResult struct {
	url       string
	rate      int
	duration  time.Duration
	sent      int
	ok        int
	errors    int
	errSample string
	bytes     int64           // of one response
	lat       []time.Duration // sorted
	reqs      []request       // successful requests, in completion order
	wall      time.Duration   // first send to last completion
}

// request is one successful request: scheduled at at, done lat later.
type request struct {
	at  time.Time
	lat time.Duration
}

// split returns the latencies of the requests that overlapped one of the
// intervals and of the others, sorted.
func (r loadResult) split(ivs [][2]time.Time) (during, outside loadResult) {
	for _, q := range r.reqs {
		end := q.at.Add(q.lat)
		in := false
		for _, iv := range ivs {
			if q.at.Before(iv[1]) && end.After(iv[0]) {
				in = true
				break
			}
		}
		if in {
			during.lat = append(during.lat, q.lat)
		} else {
			outside.lat = append(outside.lat, q.lat)
		}
	}
	slices.Sort(during.lat)
	slices.Sort(outside.lat)
	return during, outside
}

func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// newClient is the load generator's HTTP client: keep-alive connections,
// at most maxConns to the daemon at once (further requests wait for one,
// and the wait counts in their latency).
func newClient(maxConns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: maxConns, MaxIdleConnsPerHost: maxConns, MaxConnsPerHost: maxConns,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
}

// get fetches url and returns the body's size.
func get(ctx context.Context, c *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("%s", resp.Status)
	}
	return n, nil
}

// openLoop sends GET url at a fixed rate for d, whatever the answers: each
// request is sent at its scheduled time, in its own goroutine, and its
// latency is measured from that scheduled time to the end of the body, so
// queueing in the daemon or in the client counts (no coordinated
// omission). A request not done timeout after its scheduled time is an error.
func openLoop(ctx context.Context, c *http.Client, url string, rate int, d, timeout time.Duration) loadResult {
	res := loadResult{url: url, rate: rate, duration: d}
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			select {
			case <-ctx.Done():
				i = n
				continue
			case <-time.After(w):
			}
		}
		res.sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithDeadline(ctx, at.Add(timeout))
			defer cancel()
			size, err := get(rctx, c, url)
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errors++
				if res.errSample == "" {
					res.errSample = err.Error()
				}
				return
			}
			res.ok++
			res.bytes = size
			res.lat = append(res.lat, lat)
			res.reqs = append(res.reqs, request{at: at, lat: lat})
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	slices.Sort(res.lat)
	return res
}

// sequential times n requests one after the other (service time without
// queueing).
func sequential(ctx context.Context, c *http.Client, url string, n int) (loadResult, error) {
	res := loadResult{url: url}
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		size, err := get(ctx, c, url)
		if err != nil {
			return res, fmt.Errorf("GET %s: %w", url, err)
		}
		res.sent++
		res.ok++
		res.bytes = size
		res.lat = append(res.lat, time.Since(t0))
	}
	res.wall = time.Since(start)
	slices.Sort(res.lat)
	return res, nil
}

// closedLoop runs workers that each send GET url again as soon as the last
// answer is in, for d: the throughput the daemon sustains.
func closedLoop(ctx context.Context, c *http.Client, url string, workers int, d time.Duration) (loadResult, error) {
	res := loadResult{url: url}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	start := time.Now()
	stop := start.Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				t0 := time.Now()
				size, err := get(ctx, c, url)
				mu.Lock()
				res.sent++
				if err != nil {
					res.errors++
					errs = append(errs, err)
				} else {
					res.ok++
					res.bytes = size
					res.lat = append(res.lat, time.Since(t0))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	slices.Sort(res.lat)
	if len(errs) > 0 {
		return res, fmt.Errorf("GET %s: %d errors, first: %w", url, len(errs), errs[0])
	}
	return res, nil
}
