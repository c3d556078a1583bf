package main

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/web"
)

// withWeb serves the hosted pages and the console (package web, embedded)
// on the API's origin, as CloudFront does in AWS: /v1/… goes to the API
// gateway api, everything else to the pages. One origin means no CORS, and
// the e-mailed links (PUBLIC_BASE_URL, http://localhost:8080 locally) open
// these pages. The assets are embedded rather than read from disk so the
// command works from any directory; `make run` rebuilds it on each start.
func withWeb(api http.Handler) http.Handler {
	pages := web.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
			api.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}
