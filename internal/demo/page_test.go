package demo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/wire"
)

// TestPageHeaderTable: the demo page lists every request header as a row headed by its name,
// escaped, in a page that fits a phone (viewport, landmarks).
func TestPageHeaderTable(t *testing.T) {
	u := &Upstream{Profile: wire.Gatehouse, Audiences: func() []string { return nil }}
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	req.Header.Set(wire.Gatehouse.EmailHeader, "alice@example.com")
	req.Header.Set("X-Long-Custom-Header-Name", `<script>alert("x")</script>`)
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{
		`<meta name="viewport"`, `<html lang="en">`, "<main>", `<table class="headers">`,
		`<tr><th scope="row">X-Long-Custom-Header-Name</th><td>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td></tr>`,
		"<h1>Hello, alice@example.com</h1>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("demo page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a header value was not escaped")
	}
}
