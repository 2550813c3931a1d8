package grafanatest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Search parameters the fake implements. Grafana also takes folderIds,
// dashboardIds (both deprecated), starred and deleted; the fake refuses
// them, and any unknown parameter, instead of ignoring them as Grafana
// does, so that a misspelt filter fails a test rather than widening a
// search.
var searchParams = map[string]bool{
	"query": true, "tag": true, "type": true, "folderUIDs": true, "dashboardUIDs": true,
	"limit": true, "page": true, "sort": true, "permission": true,
}

// Grafana's paging of GET /api/search.
const (
	defaultSearchLimit = 1000
	maxSearchLimit     = 5000
)

// AddDashboard stores a dashboard directly, as if a person had created it
// in the UI in folder (empty: the General folder): model needs a uid and a
// title; tags (e.g. "tags": []any{"team-a"}) and the rest are kept as
// given. It fails as Grafana would refuse the save (bad or taken uid,
// unknown folder, a title already in the folder). It does not count as a
// write of DashboardWrites.
func (s *Server) AddDashboard(folderUID string, model map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := clone(model)
	uid, _ := m["uid"].(string)
	title, _ := m["title"].(string)
	switch {
	case !uidRE.MatchString(uid):
		return fmt.Errorf("dashboard uid %q: 1 to 40 letters, digits, '-' or '_'", uid)
	case strings.TrimSpace(title) == "":
		return errors.New("dashboard title cannot be empty")
	case s.dashboards[uid] != nil:
		return fmt.Errorf("a dashboard with uid %s already exists", uid)
	}
	if _, ok := s.folders[folderUID]; folderUID != "" && !ok {
		return fmt.Errorf("folder %s not found", folderUID)
	}
	for _, d := range s.dashboards {
		if d.folderUID == folderUID && d.model["title"] == title {
			return fmt.Errorf("a dashboard titled %q is already in the folder", title)
		}
	}
	if _, ok := m["panels"]; !ok {
		m["panels"] = []any{}
	}
	s.nextID++
	d := &dashboard{id: s.nextID, version: 1, folderUID: folderUID, messages: []string{""}}
	m["id"], m["version"] = d.id, d.version
	d.model = m
	s.dashboards[uid] = d
	return nil
}

// DashboardUIDs lists the UIDs of the dashboards in folder (empty: the
// General folder), sorted.
func (s *Server) DashboardUIDs(folderUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for uid, d := range s.dashboards {
		if d.folderUID == folderUID {
			out = append(out, uid)
		}
	}
	sort.Strings(out)
	return out
}

// deleteDashboard serves DELETE /api/dashboards/uid/{uid}. Like Grafana,
// it also deletes the annotations pinned to the dashboard.
func (s *Server) deleteDashboard(uid string) answer {
	d, ok := s.dashboards[uid]
	if !ok {
		return msg(http.StatusNotFound, "Dashboard not found", "not-found")
	}
	title, _ := d.model["title"].(string)
	delete(s.dashboards, uid)
	for id, a := range s.annotations {
		if a.DashboardUID == uid {
			delete(s.annotations, id)
		}
	}
	s.dashboardDeletes++
	return answer{status: http.StatusOK, body: map[string]any{
		"id": d.id, "uid": uid, "title": title, "message": "Dashboard " + title + " deleted",
	}}
}

// search serves GET /api/search: dashboards and folders filtered by
// title substring (query), tags (all of them), type, folders and UIDs,
// sorted by title, paged by limit and page.
func (s *Server) search(q url.Values) answer {
	for p := range q {
		if !searchParams[p] {
			return msg(http.StatusBadRequest, fmt.Sprintf("search parameter %q is not supported by the fake (Grafana would ignore it or it is deprecated)", p))
		}
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	if limit > maxSearchLimit {
		return msg(http.StatusUnprocessableEntity, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit")
	}
	if limit == 0 {
		limit = defaultSearchLimit
	}
	page, err := intParam(q, "page")
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	if page == 0 {
		page = 1
	}
	typ := q.Get("type")
	if typ != "" && typ != "dash-db" && typ != "dash-folder" {
		return msg(http.StatusBadRequest, fmt.Sprintf("type %q: want dash-db or dash-folder", typ))
	}
	sortBy := q.Get("sort")
	if sortBy != "" && sortBy != "alpha-asc" && sortBy != "alpha-desc" {
		return msg(http.StatusBadRequest, fmt.Sprintf("sort %q: want alpha-asc or alpha-desc", sortBy))
	}
	if p := q.Get("permission"); p != "" && p != "View" && p != "Edit" {
		return msg(http.StatusBadRequest, fmt.Sprintf("permission %q: want View or Edit", p))
	}
	title := strings.ToLower(q.Get("query"))
	tags := q["tag"]
	var folders, uids map[string]bool
	if v, ok := q["folderUIDs"]; ok {
		folders = map[string]bool{}
		for _, f := range v {
			if f == "general" {
				f = ""
			}
			folders[f] = true
		}
	}
	if v, ok := q["dashboardUIDs"]; ok {
		uids = map[string]bool{}
		for _, u := range v {
			uids[u] = true
		}
	}

	type hit struct {
		title, uid string
		body       map[string]any
	}
	var hits []hit
	if typ != "dash-db" && len(tags) == 0 && (folders == nil || folders[""]) {
		for _, f := range s.folders {
			if uids != nil && !uids[f.UID] || !strings.Contains(strings.ToLower(f.Title), title) {
				continue
			}
			sl := slug(map[string]any{"title": f.Title})
			hits = append(hits, hit{f.Title, f.UID, map[string]any{
				"id": f.ID, "uid": f.UID, "orgId": 1, "title": f.Title, "uri": "db/" + sl,
				"url": "/dashboards/f/" + f.UID + "/" + sl, "slug": "", "type": "dash-folder",
				"tags": []string{}, "isStarred": false, "sortMeta": 0,
			}})
		}
	}
	if typ != "dash-folder" {
		for uid, d := range s.dashboards {
			t, _ := d.model["title"].(string)
			dtags := stringList(d.model["tags"])
			if folders != nil && !folders[d.folderUID] || uids != nil && !uids[uid] ||
				!strings.Contains(strings.ToLower(t), title) || !hasAll(dtags, tags) {
				continue
			}
			sl := slug(d.model)
			b := map[string]any{
				"id": d.id, "uid": uid, "orgId": 1, "title": t, "uri": "db/" + sl,
				"url": "/d/" + uid + "/" + sl, "slug": "", "type": "dash-db",
				"tags": dtags, "isStarred": false, "sortMeta": 0,
			}
			if f, ok := s.folders[d.folderUID]; ok {
				b["folderId"], b["folderUid"], b["folderTitle"], b["folderUrl"] = f.ID, f.UID, f.Title, f.URL
			}
			hits = append(hits, hit{t, uid, b})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := strings.ToLower(hits[i].title), strings.ToLower(hits[j].title)
		if a != b {
			return (a < b) != (sortBy == "alpha-desc")
		}
		return hits[i].uid < hits[j].uid
	})
	out := []map[string]any{}
	if start := (page - 1) * limit; start < len(hits) {
		for _, h := range hits[start:min(start+limit, len(hits))] {
			out = append(out, h.body)
		}
	}
	return answer{status: http.StatusOK, body: out}
}

// intParam reads a non-negative integer parameter (0 when absent).
// Grafana reads a malformed one as 0; the fake refuses it.
func intParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want a non-negative integer", name, v)
	}
	return n, nil
}

// stringList reads a JSON list of strings (tags), skipping anything else.
func stringList(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
