package grafana

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/slokeeper/slokeeper/dashboards"
)

// Search hit types (the type parameter of GET /api/search).
const (
	TypeDashboard = "dash-db"
	TypeFolder    = "dash-folder"
)

// Paging limits of GET /api/search.
const (
	// DefaultSearchLimit is the page size Search uses when none is given
	// (Grafana's own default).
	DefaultSearchLimit = 1000
	// MaxSearchLimit is the largest page Grafana serves.
	MaxSearchLimit = 5000
	// maxSearchPages bounds a search, so that a misbehaving server cannot
	// keep the client paging forever (5000 pages of at least one hit).
	maxSearchPages = 5000
)

// SearchQuery selects dashboards and folders for Search. Empty fields do
// not filter.
type SearchQuery struct {
	// FolderUIDs keeps hits directly in one of these folders.
	FolderUIDs []string
	// Tags keeps dashboards that carry every one of these tags.
	Tags []string
	// Type is TypeDashboard ("dash-db"), TypeFolder ("dash-folder") or
	// empty for both.
	Type string
	// Limit is the page size (default DefaultSearchLimit, at most
	// MaxSearchLimit).
	Limit int
	// Page is the first page read (numbered from 1, the default); Search
	// then reads the following pages until one comes back short.
	Page int
}

// SearchHit is a dashboard or folder found by Search.
type SearchHit struct {
	ID          int64    `json:"id"`
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	URL         string   `json:"url"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	FolderUID   string   `json:"folderUid"`
	FolderTitle string   `json:"folderTitle"`
}

// Search lists the dashboards and folders matching q with GET /api/search,
// reading page after page until Grafana runs out of hits. Hits are in
// Grafana's order, each UID once.
func (c *Client) Search(ctx context.Context, q SearchQuery) ([]SearchHit, error) {
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		return nil, fmt.Errorf("grafana: search limit %d: want 1 to %d", q.Limit, MaxSearchLimit)
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Page < 0 {
		return nil, fmt.Errorf("grafana: search page %d: pages are numbered from 1", q.Page)
	}
	switch q.Type {
	case "", TypeDashboard, TypeFolder:
	default:
		return nil, fmt.Errorf("grafana: search type %q: want %q or %q", q.Type, TypeDashboard, TypeFolder)
	}
	params := url.Values{}
	for _, f := range q.FolderUIDs {
		params.Add("folderUIDs", f)
	}
	for _, t := range q.Tags {
		params.Add("tag", t)
	}
	if q.Type != "" {
		params.Set("type", q.Type)
	}
	params.Set("limit", strconv.Itoa(q.Limit))

	var hits []SearchHit
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n == maxSearchPages {
			return nil, fmt.Errorf("grafana: search: still finding hits after %d pages, giving up", n)
		}
		page := q.Page + n
		params.Set("page", strconv.Itoa(page))
		var got []SearchHit
		if err := c.do(ctx, request{method: http.MethodGet, path: "/api/search", query: params.Encode(), idempotent: true}, &got); err != nil {
			return nil, fmt.Errorf("searching dashboards (page %d): %w", page, err)
		}
		fresh := 0
		for _, h := range got {
			if seen[h.UID] {
				continue
			}
			seen[h.UID] = true
			hits = append(hits, h)
			fresh++
		}
		if len(got) < q.Limit {
			return hits, nil
		}
		if fresh == 0 {
			// A full page of hits already seen: the server ignores the
			// page parameter, and asking again would loop.
			return nil, fmt.Errorf("grafana: search: page %d repeats earlier hits; the server does not page", page)
		}
	}
}

// DeleteDashboard deletes the dashboard uid with DELETE
// /api/dashboards/uid/{uid}. A dashboard that is already gone (404) is not
// an error.
func (c *Client) DeleteDashboard(ctx context.Context, uid string) error {
	if uid == "" {
		return errors.New("grafana: deleting a dashboard needs its uid")
	}
	err := c.do(ctx, request{method: http.MethodDelete, path: "/api/dashboards/uid/" + url.PathEscape(uid), idempotent: true}, nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// Push must not skip it as "pushed recently" any more.
	c.mu.Lock()
	delete(c.pushed, uid)
	c.mu.Unlock()
	return nil
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// FolderUID is slokeeper's folder (default dashboards.DefaultFolderUID);
	// dashboards elsewhere are never touched.
	FolderUID string
	// Tag is the tag every generated dashboard carries (default
	// dashboards.Tag).
	Tag string
	// Keep holds the UIDs still generated; they are never deleted. It
	// must not be empty: slokeeper always generates at least the overview,
	// so an empty Keep is a caller's mistake that would wipe the folder.
	Keep map[string]bool
	// DryRun lists what would be deleted without deleting it.
	DryRun bool
	// PageSize is the search page size (default DefaultSearchLimit).
	PageSize int
}

// PruneResult says what a prune did.
type PruneResult struct {
	// Deleted lists the UIDs of the stale generated dashboards deleted (or,
	// with DryRun, that would be), in UID order. A dashboard someone else
	// deleted meanwhile counts as deleted.
	Deleted []string
	// Foreign lists the UIDs of dashboards in the folder that carry the
	// tag but that slokeeper did not generate (a person's dashboard, a
	// copy saved under a new UID): left alone.
	Foreign []string
}

// Prune deletes the dashboards slokeeper generated earlier that it no
// longer generates: those directly in the folder, of type dash-db, that
// carry the tag, whose UID is one slokeeper derives (see Generated) and
// that are not in Keep. Anything else in the folder, and anything in other
// folders, is left alone. It stops at the first failed delete, returning
// what was deleted so far.
//
// Call it after a successful Push with Keep set to the UIDs of every
// generated dashboard (PushResult.Keep()).
func (c *Client) Prune(ctx context.Context, opts PruneOptions) (PruneResult, error) {
	var res PruneResult
	if opts.FolderUID == "" {
		opts.FolderUID = dashboards.DefaultFolderUID
	}
	if opts.Tag == "" {
		opts.Tag = dashboards.Tag
	}
	if len(opts.Keep) == 0 {
		return res, errors.New("grafana: refusing to prune with an empty Keep: it would delete every generated dashboard in the folder")
	}
	hits, err := c.Search(ctx, SearchQuery{FolderUIDs: []string{opts.FolderUID}, Tags: []string{opts.Tag},
		Type: TypeDashboard, Limit: opts.PageSize})
	if err != nil {
		return res, fmt.Errorf("pruning folder %s: %w", opts.FolderUID, err)
	}
	var stale []string
	for _, h := range hits {
		// The search filters already; checked again so that a Grafana that
		// ignores a parameter (folderUIDs is new in Grafana 9) cannot widen
		// what is deleted.
		if h.Type != TypeDashboard || h.FolderUID != opts.FolderUID || !slices.Contains(h.Tags, opts.Tag) || opts.Keep[h.UID] {
			continue
		}
		if !Generated(h.UID, h.Tags) {
			res.Foreign = append(res.Foreign, h.UID)
			continue
		}
		stale = append(stale, h.UID)
	}
	slices.Sort(stale)
	slices.Sort(res.Foreign)
	for _, uid := range stale {
		if !opts.DryRun {
			if err := c.DeleteDashboard(ctx, uid); err != nil {
				return res, fmt.Errorf("pruning dashboard %s: %w", uid, err)
			}
			c.log.Debug("grafana: pruned a dashboard no longer generated", "uid", uid, "folder", opts.FolderUID)
		}
		res.Deleted = append(res.Deleted, uid)
	}
	return res, nil
}

// perServiceKinds are the dashboard kinds with one dashboard per service;
// singleKinds those with one per Grafana. Together they are every kind
// dashboards.All generates (a test checks it).
var (
	perServiceKinds = []dashboards.Kind{dashboards.KindSLO, dashboards.KindRED}
	singleKinds     = append([]dashboards.Kind{dashboards.KindOverview, dashboards.KindNodes}, dashboards.PlatformKinds()...)
)

// Generated says whether a dashboard with uid and tags is one slokeeper
// generates: its UID is exactly dashboards.UID of a kind, with, for the
// per-service kinds, the service named by one of its "service:" tags. A
// dashboard created in Grafana gets a random UID, and a copy saved from a
// generated one a new one, so neither passes even when it carries
// slokeeper's tags.
func Generated(uid string, tags []string) bool {
	for _, k := range singleKinds {
		if uid == dashboards.UID(k, "") {
			return true
		}
	}
	for _, t := range tags {
		svc, ok := strings.CutPrefix(t, dashboards.ServiceTag(""))
		if !ok {
			continue
		}
		for _, k := range perServiceKinds {
			if uid == dashboards.UID(k, svc) {
				return true
			}
		}
	}
	return false
}
