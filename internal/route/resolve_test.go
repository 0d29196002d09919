package route

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tbl := compileApps(t, []app{
		{"host", []string{"app.example.com"}},
		{"admin", []string{"app.example.com/admin", "app.example.com/admin.*"}},
		{"feeds", []string{"app.example.com/feeds.*"}},
		{"public", []string{"app.example.com/public/*"}},
		{"report", []string{"app.example.com/reports/*/view"}},
		{"solo", []string{"solo.example.com"}},
		{"wild", []string{"*.wild.example.com", "*.wild.example.com/api"}},
		{"pathonly", []string{"pathonly.example.com/app"}},
	})
	tests := []struct{ host, path, want string }{
		{"app.example.com", "/", "host"},
		{"app.example.com", "/admin", "admin"},
		{"app.example.com", "/admin;jsessionid=1", "admin"},
		{"app.example.com", "/admin;x/secret", "admin"},
		{"app.example.com", "/;/admin", "admin"},
		{"app.example.com", "/;x/;y/admin/z", "admin"},
		{"app.example.com", "/x/;/", "host"},
		{"app.example.com", "/;", "host"},
		{"app.example.com", "/admin.json", "admin"}, // the operator gave "/admin.*" to the same app
		{"app.example.com", "/admin.tar.gz", "admin"},
		{"app.example.com", "/feeds.xml", "ambiguous"}, // "/feeds" belongs to "host"
		{"app.example.com", "/feeds", "host"},
		{"app.example.com", "/public", "public"},         // "/public/*" covers "/public"
		{"app.example.com", "/public.json", "ambiguous"}, // served as "/public" by suffix-matching origins
		{"app.example.com", "/public.", "ambiguous"},
		{"app.example.com", "/public.tar.gz", "ambiguous"},
		{"app.example.com", "/public.json/", "ambiguous"},
		{"app.example.com", "/public.json;x", "ambiguous"},
		{"app.example.com", "/public/x.json", "public"},
		{"app.example.com", "/reports/q1/view.html", "ambiguous"},
		{"app.example.com", "/reports/q1/view/page.html", "report"},
		{"app.example.com", "/reports/q1/viewer.html", "host"},
		{"app.example.com", "/static/app.min.js", "host"},
		{"app.example.com", "/admin%3F.css", "ambiguous"}, // the host app, but "/admin" behind a re-parsing proxy
		{"app.example.com", "/public%3F.css", "ambiguous"},
		{"app.example.com", "/public%3f", "ambiguous"},
		{"app.example.com", "/public%23x", "ambiguous"},
		{"app.example.com", "/public/x%23y", "public"},
		{"app.example.com", "/reports/q1/view%3Fx", "ambiguous"},
		{"app.example.com", "/feedsx%23", "host"},
		{"app.example.com", "/public.json%23x", "ambiguous"}, // "/public.json", read as "/public"
		{"app.example.com", "/wiki/C%23", "host"},
		{"app.example.com", "/wiki/%3F", "host"},
		{"app.example.com", "/.well-known/x.json", "host"},
		{"app.example.com", "/x/.admin", "host"},
		{"app.example.com.", "/public.json", "ambiguous"},
		{"solo.example.com", "/anything.json", "solo"},
		{"a.wild.example.com", "/api.json", "wild"},
		{"pathonly.example.com", "/app.js", "ambiguous"}, // no app vs "app": still not forwarded
		{"pathonly.example.com", "/other.js", ""},
		{"unknown.example.com", "/x.json", ""},
	}
	for _, tt := range tests {
		id, ok, err := tbl.Resolve(tt.host, tt.path)
		got := id
		switch {
		case errors.Is(err, ErrAmbiguousPath):
			got = "ambiguous"
			if id != "" || ok {
				t.Errorf("Resolve(%q, %q) = %q, %v with an error", tt.host, tt.path, id, ok)
			}
		case err != nil:
			t.Errorf("Resolve(%q, %q) error %v", tt.host, tt.path, err)
		case ok != (id != ""):
			t.Errorf("Resolve(%q, %q) = %q, %v", tt.host, tt.path, id, ok)
		}
		if got != tt.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q (%v)", tt.host, tt.path, got, tt.want, err)
		}
	}
	_, _, err := tbl.Resolve("app.example.com", "/public.json")
	if want := `"/public.json" may be served as "/public", which application "public" governs, not "host"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to say %s", err, want)
	}
}

func TestWithoutParams(t *testing.T) {
	for in, want := range map[string]string{
		"/plain": "/plain", "/admin;x/secret": "/admin/secret", "/a;jsessionid=1": "/a", "/a;b;c/d;e/": "/a/d/",
		"/;/admin": "/admin", "/;": "/", "/x/;/": "/x/", "/;a/;b": "/", "/a/;b": "/a",
	} {
		if got := withoutParams(in); got != want {
			t.Errorf("withoutParams(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveAllocs(t *testing.T) {
	tbl, reqs := benchTable(t, 2000)
	reqs = append(reqs, benchReq{"app0.corp.example.com", "/static/js/app.min.js"}, benchReq{"app0.corp.example.com", "/admin/x.json"})
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range reqs {
			_, _, _ = tbl.Resolve(r.host, r.path)
		}
	})
	if allocs != 0 {
		t.Errorf("Resolve allocates %.1f times per %d requests", allocs, len(reqs))
	}
}
