package budget

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Sample is one series of an instant vector: its labels and float value.
// A streaming querier reuses the Metric map from one sample to the next;
// the callback must copy what it keeps.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// SampleStreamer is a Querier that can also hand over an instant query's
// vector one sample at a time, without building it in memory. The reader
// uses it when its Querier has it: with 10,000 SLOs a read is four
// vectors of 160,000 series, and decoding them whole into model.Vector
// (and reading each answer's body whole first, as client_golang does)
// costs hundreds of MiB at every read.
type SampleStreamer interface {
	QueryStream(ctx context.Context, query string, ts time.Time, each func(Sample)) (warnings []string, err error)
}

// streamVector streams an instant query through q: QueryStream when q
// has it, else Query and a walk over the vector.
func streamVector(ctx context.Context, q Querier, query string, ts time.Time, each func(Sample)) ([]string, error) {
	if s, ok := q.(SampleStreamer); ok {
		return s.QueryStream(ctx, query, ts, each)
	}
	v, w, _, err := q.Query(ctx, query, ts)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return w, nil
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("got a %s, want a vector", v.Type())
	}
	eachSample(vec, each)
	return w, nil
}

// eachSample calls each for every sample of vec, in one reused Sample map.
func eachSample(vec model.Vector, each func(Sample)) {
	m := map[string]string{}
	for _, smp := range vec {
		clear(m)
		for k, lv := range smp.Metric {
			m[string(k)] = string(lv)
		}
		each(Sample{Metric: m, Value: float64(smp.Value)})
	}
}

// HTTPQuerier queries a Prometheus-compatible query API (Prometheus,
// Thanos Querier, Mimir's /prometheus prefix) over HTTP. Query is
// client_golang's; QueryStream decodes the answer as it arrives.
type HTTPQuerier struct {
	v1.API
	base   *url.URL
	client *http.Client
}

// NewHTTPQuerier returns a querier of the API at address (the URL the
// /api/v1/ paths are under) through rt, which carries the
// authentication, TLS and headers (nil: http.DefaultTransport). api is
// the client_golang API of the same address, used for Query.
func NewHTTPQuerier(address string, rt http.RoundTripper, api v1.API) (*HTTPQuerier, error) {
	u, err := url.Parse(address)
	if err != nil {
		return nil, fmt.Errorf("parsing the Prometheus URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the Prometheus URL %q: scheme must be http or https", address)
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &HTTPQuerier{API: api, base: u, client: &http.Client{Transport: rt}}, nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// QueryStream runs an instant query (POST /api/v1/query, and GET when a
// proxy refuses POST with 405, as client_golang does) and calls each for
// every float sample of the vector as it is decoded.
func (h *HTTPQuerier) QueryStream(ctx context.Context, query string, ts time.Time, each func(Sample)) ([]string, error) {
	form := url.Values{"query": {query}}
	if !ts.IsZero() {
		form.Set("time", ts.UTC().Format(time.RFC3339Nano))
	}
	u := h.base.JoinPath("api", "v1", "query")
	resp, err := h.do(ctx, http.MethodPost, u, form)
	if err == nil && resp.StatusCode == http.StatusMethodNotAllowed {
		drain(resp)
		resp, err = h.do(ctx, http.MethodGet, u, form)
	}
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return nil, apiError(resp)
	}
	return decodeVector(resp.Body, each)
}

func (h *HTTPQuerier) do(ctx context.Context, method string, u *url.URL, form url.Values) (*http.Response, error) {
	var (
		body io.Reader
		uu   = *u
	)
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else {
		uu.RawQuery = form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, uu.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building the query request: %w", err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	return h.client.Do(req)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

// apiError describes a non-2xx answer, with Prometheus's errorType and
// error when the body is its JSON error.
func apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e struct {
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return fmt.Errorf("server returned HTTP status %s: %s: %s", resp.Status, e.ErrorType, e.Error)
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		return fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	return fmt.Errorf("server returned HTTP status %s: %s", resp.Status, msg)
}

// decodeVector reads a query API answer
// ({"status", "data": {"resultType", "result"}, "warnings", ...}) from r,
// calling each per float sample of the result without holding the
// vector. Histogram samples are skipped.
func decodeVector(r io.Reader, each func(Sample)) ([]string, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var (
		status, errType, errMsg string
		warnings                []string
		sawData                 bool
	)
	err := walkObject(dec, false, func(key string) error {
		switch key {
		case "status":
			return dec.Decode(&status)
		case "errorType":
			return dec.Decode(&errType)
		case "error":
			return dec.Decode(&errMsg)
		case "warnings":
			return dec.Decode(&warnings)
		case "data":
			sawData = true
			return decodeData(dec, each)
		default: // infos, and what later versions add
			var skip json.RawMessage
			return dec.Decode(&skip)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("decoding the query answer: %w", err)
	}
	if status != "success" {
		if errMsg == "" {
			errMsg = fmt.Sprintf("status %q", status)
		}
		return nil, fmt.Errorf("query failed: %s: %s", errType, errMsg)
	}
	if !sawData {
		return nil, errors.New("decoding the query answer: no data")
	}
	return warnings, nil
}

func decodeData(dec *json.Decoder, each func(Sample)) error {
	resultType := ""
	return walkObject(dec, true, func(key string) error {
		switch key {
		case "resultType":
			if err := dec.Decode(&resultType); err != nil {
				return err
			}
			if resultType != model.ValVector.String() {
				return fmt.Errorf("got a %s, want a vector", resultType)
			}
			return nil
		case "result":
			return decodeResult(dec, each)
		default:
			var skip json.RawMessage
			return dec.Decode(&skip)
		}
	})
}

// rawSample is one element of a vector result, decoded into reused memory.
type rawSample struct {
	Metric map[string]string `json:"metric"`
	Value  sampleValue       `json:"value"`
}

// sampleValue is a [time, "value"] pair; only the value is kept.
type sampleValue struct {
	v   float64
	set bool
}

func (s *sampleValue) UnmarshalJSON(b []byte) error {
	// [1700000000.123,"0.5"]: the value is the last quoted string.
	j := bytes.LastIndexByte(b, '"')
	if j < 0 {
		return fmt.Errorf("sample value %s: want [time, \"value\"]", b)
	}
	i := bytes.LastIndexByte(b[:j], '"')
	if i < 0 || b[0] != '[' {
		return fmt.Errorf("sample value %s: want [time, \"value\"]", b)
	}
	f, err := strconv.ParseFloat(string(b[i+1:j]), 64)
	if err != nil {
		return fmt.Errorf("sample value %s: %w", b, err)
	}
	s.v, s.set = f, true
	return nil
}

func decodeResult(dec *json.Decoder, each func(Sample)) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("got %v, want an array", tok)
	}
	var s rawSample
	s.Metric = map[string]string{}
	for dec.More() {
		clear(s.Metric)
		s.Value = sampleValue{}
		if err := dec.Decode(&s); err != nil {
			return err
		}
		if !s.Value.set { // a native histogram sample
			continue
		}
		each(Sample{Metric: s.Metric, Value: s.Value.v})
	}
	_, err = dec.Token() // ']'
	return err
}

// walkObject reads a JSON object from dec, calling fn for each key with
// the decoder positioned at its value; fn must consume the value. With
// nullOK, a null is read as an empty object.
func walkObject(dec *json.Decoder, nullOK bool, fn func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil && nullOK {
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("got %v, want an object", tok)
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	_, err = dec.Token()
	return err
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("got %v, want an object key", tok)
	}
	return key, nil
}

// finite says whether f is a usable value (not NaN nor infinite).
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
