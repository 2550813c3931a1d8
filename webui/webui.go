// Package webui is slokeeper's web UI, served by the daemon: the SLO list
// (search, filters, sort by budget), an SLO's detail (status tiles,
// server-rendered SVG charts, alerts, spec and generated rules, Grafana
// links), the services with their change-freeze state and history, and the
// manual freeze form. Pages are html/template; the only JavaScript is a
// small static file for instant search, and no page needs it. Nothing is
// loaded from outside the daemon.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/charts"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the UI.
type Options struct {
	// BasePath is the path the UI is served under, without a trailing
	// slash ("/ui", the default). The handler expects full request paths:
	// mount it with mux.Handle(BasePath+"/", h).
	BasePath string
	// GrafanaURL is the base URL of Grafana (https://grafana.example.com),
	// prepended to relative dashboard links; empty hides them.
	GrafanaURL string
	// Logger receives backend errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// maxFormBytes bounds a POSTed form.
const maxFormBytes = 16 << 10

type ui struct {
	b       Backend
	base    string
	grafana *url.URL
	log     *slog.Logger
	now     func() time.Time
	pages   map[string]*template.Template
	// assetVersion is a hash of the static files, appended to their URLs
	// so browsers fetch new ones after an upgrade.
	assetVersion string
}

// page names, one template file each.
var pageNames = []string{"slos", "slo", "services", "service", "error"}

// New returns the UI's handler.
func New(b Backend, opts Options) (http.Handler, error) {
	if b == nil {
		return nil, errors.New("webui: nil backend")
	}
	base := strings.TrimRight(opts.BasePath, "/")
	if opts.BasePath == "" {
		base = "/ui"
	}
	if base != "" && (!strings.HasPrefix(base, "/") || path.Clean(base) != base || strings.ContainsAny(base, "{}?#%")) {
		return nil, fmt.Errorf("webui: base path %q: want a clean absolute path such as /ui", opts.BasePath)
	}
	u := &ui{b: b, base: base, log: opts.Logger, now: opts.Now}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	if opts.GrafanaURL != "" {
		g, err := url.Parse(strings.TrimRight(opts.GrafanaURL, "/"))
		if err != nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" {
			return nil, fmt.Errorf("webui: Grafana URL %q: want an absolute http or https URL", opts.GrafanaURL)
		}
		u.grafana = g
	}
	v, err := hashFS(staticFS, charts.CSS)
	if err != nil {
		return nil, fmt.Errorf("webui: hashing static files: %w", err)
	}
	u.assetVersion = v
	if err := u.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("webui: static files: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base+"/{$}", u.listSLOs)
	mux.HandleFunc("GET "+base+"/slos/{service}/{name}", u.showSLO)
	mux.HandleFunc("GET "+base+"/services", u.listServices)
	mux.HandleFunc("GET "+base+"/services/{name}", u.showService)
	// Cross-origin form posts are refused (the token also guards them).
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST "+base+"/services/{name}/freeze", cop.Handler(http.HandlerFunc(u.freeze)))
	mux.Handle("POST "+base+"/services/{name}/unfreeze", cop.Handler(http.HandlerFunc(u.unfreeze)))
	mux.HandleFunc("GET "+base+"/static/charts.css", chartsCSS)
	mux.Handle("GET "+base+"/static/", http.StripPrefix(base+"/static/", staticHandler(http.FileServerFS(static))))
	mux.HandleFunc("GET "+base+"/", func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, http.StatusNotFound, "No such page.")
	})
	if base != "" {
		mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, base+"/", http.StatusMovedPermanently)
		})
	}
	return securityHeaders(mux), nil
}

func (u *ui) parseTemplates() error {
	funcs := u.funcs()
	u.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("webui: parsing template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

// securityHeaders sets the headers of every response: a content security
// policy that allows only the daemon's own scripts and styles (SVG charts
// carry presentation attributes, never inline styles), no framing, no
// referrer leaving the site, no MIME sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// staticHandler lets browsers cache the static files (their URLs carry a
// content hash).
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}

// hashFS hashes the files of fsys and extra.
func hashFS(fsys fs.FS, extra string) (string, error) {
	h := sha256.New()
	h.Write([]byte(extra))
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// pageData is what every page template gets.
type pageData struct {
	Title string
	// Nav is the active navigation entry: "slos" or "services".
	Nav  string
	Base string
	// Asset is the static files' version.
	Asset string
	// Now is the page's clock.
	Now time.Time
	// Page is the page's own data.
	Page any
}

// render writes a page; templates execute into a buffer so that an error
// never sends half a page.
func (u *ui) render(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, data any) {
	var buf bytes.Buffer
	pd := pageData{Title: title, Nav: nav, Base: u.base, Asset: u.assetVersion, Now: u.now(), Page: data}
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", pd); err != nil {
		u.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		if name != "error" {
			u.renderError(w, r, http.StatusInternalServerError, "The page could not be rendered.")
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	Code    int
	Status  string
	Message string
}

func (u *ui) renderError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.render(w, r, code, "error", http.StatusText(code), "", errorPage{Code: code, Status: http.StatusText(code), Message: msg})
}

// backendError logs a backend failure and shows a page that says what
// could not be done, without the error's text.
func (u *ui) backendError(w http.ResponseWriter, r *http.Request, what string, err error) {
	u.log.ErrorContext(r.Context(), "web UI backend call failed", "what", what, "path", r.URL.Path, "err", err)
	u.renderError(w, r, http.StatusInternalServerError, "Could not "+what+"; the error is in the daemon's log.")
}
