package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// queryProxy stands between the daemon and Prometheus and logs every query:
// the daemon's reads are seen from outside (how many queries, when, how
// long on the wire), to count them and to tell which API requests ran
// during a read.
type queryProxy struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	entries []queryEntry
}

type queryEntry struct {
	query      string
	start, end time.Time
	bytes      int64
}

func newQueryProxy(target string) (*queryProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &queryProxy{url: "http://" + l.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := queryEntry{start: time.Now()}
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if v, err := url.ParseQuery(string(b)); err == nil {
				e.query = v.Get("query")
			}
		}
		if e.query == "" {
			e.query = r.URL.Query().Get("query")
		}
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, r)
		e.end, e.bytes = time.Now(), cw.n
		if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			p.mu.Lock()
			p.entries = append(p.entries, e)
			p.mu.Unlock()
		}
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *queryProxy) close() { _ = p.srv.Close() }

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// proxyRead is one budget read of the daemon, as its queries went by.
type proxyRead struct {
	start, end time.Time
	queries    int
	bytes      int64
}

// reads groups the logged queries into reads: the daemon sends a read's
// queries together and reads at most every interval/4 (its shortest
// retry), so queries starting within gap of a read's first one belong to it.
func (p *queryProxy) reads(gap time.Duration) []proxyRead {
	p.mu.Lock()
	es := append([]queryEntry(nil), p.entries...)
	p.mu.Unlock()
	sort.Slice(es, func(i, j int) bool { return es[i].start.Before(es[j].start) })
	var out []proxyRead
	for _, e := range es {
		if n := len(out); n > 0 && e.start.Sub(out[n-1].start) < gap {
			r := &out[n-1]
			r.queries++
			r.bytes += e.bytes
			if e.end.After(r.end) {
				r.end = e.end
			}
			continue
		}
		out = append(out, proxyRead{start: e.start, end: e.end, queries: 1, bytes: e.bytes})
	}
	return out
}
