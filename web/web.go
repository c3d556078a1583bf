// Package web holds Latchkey's hosted pages and the admin/agent console:
// plain HTML, CSS and ES modules with no build step and no third-party
// asset, embedded so that the local server (cmd/latchkey-local) serves them
// from its binary. The Lambda functions never import this package, so the
// assets add nothing to their size or cold start.
//
// Pages take the tenant from the path, /t/<tenant>/…; the links that
// e-mails carry (PUBLIC_BASE_URL + "/security-pin#<token>" and
// "/welcome#<token>") have no tenant, so those two pages also answer at
// the root and ask for the organisation there. Link tokens are read from
// the URL fragment, which browsers never send to a server.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
)

//go:embed index.html signin.html forgot.html signup.html profile.html security-pin.html welcome.html console/index.html assets
var files embed.FS

// FS is the tree of assets, rooted at this folder.
var FS fs.FS = files

// tenantPath matches /t/<tenant>[/<page>[/]]; the tenant pattern is the
// API's (api/openapi.yaml, parameter Tenant).
var tenantPath = regexp.MustCompile(`^/t/([a-z0-9][a-z0-9-]{1,30}[a-z0-9])(?:/([a-z-]*))?/?$`)

// pages maps a page name (the path segment after the tenant) to its file.
var pages = map[string]string{
	"": "signin.html", "forgot": "forgot.html", "signup": "signup.html", "profile": "profile.html",
	"security-pin": "security-pin.html", "welcome": "welcome.html", "console": "console/index.html",
}

// Page returns the file that answers the path p (a request path, not
// /v1/…), or "" when none does.
func Page(p string) string {
	switch {
	case p == "/" || p == "/index.html":
		return "index.html"
	case p == "/security-pin" || p == "/welcome":
		return pages[p[1:]]
	case strings.HasPrefix(p, "/assets/"):
		name := path.Clean(p[1:])
		if strings.HasPrefix(name, "assets/") {
			if _, err := fs.Stat(files, name); err == nil {
				return name
			}
		}
		return ""
	}
	if m := tenantPath.FindStringSubmatch(p); m != nil {
		return pages[m[2]]
	}
	return ""
}

// Handler serves the pages and assets with headers that keep them to this
// origin: a content security policy allowing only same-origin scripts,
// styles and requests, no framing, no referrer (a page's URL may hold a link
// token in its fragment; browsers drop fragments from referrers anyway, this
// also drops the path), and no caching, so a deployment's new assets apply
// at once. Any other path answers 404.
func Handler() http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := Page(r.URL.Path)
		if name == "" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if strings.HasSuffix(name, ".html") {
			http.ServeFileFS(w, r, files, name)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		fileServer.ServeHTTP(w, r2)
	})
}
