package oidcop

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// documentServer serves client ID metadata documents over TLS on 127.0.0.1; documents trust
// it through the test transport.
func documentServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *clientDocuments) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &clientDocuments{transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestClientIDMetadataDocuments(t *testing.T) {
	var doc string
	var contentType = "application/json"
	srv, docs := documentServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect/client.json":
			http.Redirect(w, r, "/client.json", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(strings.ReplaceAll(doc, "SELF", "https://"+r.Host+r.URL.Path)))
	})
	local := &store.MCPClientIDMetadataDocuments{AllowedNetworks: []string{"127.0.0.0/8"}}
	now := time.Now()
	good := `{"client_id":"SELF","client_name":"Agent","redirect_uris":["http://127.0.0.1:4444/cb"],"token_endpoint_auth_method":"none"}`

	// A loopback host is refused unless the portal allows its network.
	doc = good
	if _, err := docs.fetch(t.Context(), srv.URL+"/a/client.json", nil, now); err == nil || !errors.Is(err, errClientDocument) {
		t.Errorf("loopback without allowed_networks: %v", err)
	}
	c, err := docs.fetch(t.Context(), srv.URL+"/b/client.json", local, now)
	if err != nil || c.ClientName != "Agent" || c.RedirectURIs[0] != "http://127.0.0.1:4444/cb" {
		t.Fatalf("allowed: %+v %v", c, err)
	}

	for name, tc := range map[string]struct {
		url, doc, ct string
	}{
		"client_id of another URL": {srv.URL + "/c/client.json", `{"client_id":"https://evil.example/client.json","redirect_uris":["http://127.0.0.1/cb"]}`, ""},
		"no redirect URIs":         {srv.URL + "/d/client.json", `{"client_id":"SELF"}`, ""},
		"a secret":                 {srv.URL + "/e/client.json", `{"client_id":"SELF","redirect_uris":["http://127.0.0.1/cb"],"client_secret":"x"}`, ""},
		"confidential":             {srv.URL + "/f/client.json", `{"client_id":"SELF","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"client_secret_basic"}`, ""},
		"too large":                {srv.URL + "/g/client.json", `{"client_id":"SELF","redirect_uris":["http://127.0.0.1/cb"],"client_name":"` + strings.Repeat("a", 6000) + `"}`, ""},
		"not JSON":                 {srv.URL + "/h/client.json", `<html>`, "text/html"},
		"a redirect":               {srv.URL + "/redirect/client.json", good, ""},
		"http":                     {strings.Replace(srv.URL, "https", "http", 1) + "/i/client.json", good, ""},
		"no path":                  {srv.URL, good, ""},
		"dot segments":             {srv.URL + "/x/../client.json", good, ""},
		"encoded dot segments":     {srv.URL + "/x/%2e%2e/client.json", good, ""},
	} {
		doc, contentType = tc.doc, "application/json"
		if tc.ct != "" {
			contentType = tc.ct
		}
		if _, err := docs.fetch(t.Context(), tc.url, local, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	// Link-local and cloud metadata addresses are refused whatever the portal allows.
	for _, ip := range []string{"169.254.169.254", "100.100.100.200", "[fd00:ec2::254]", "[::ffff:169.254.169.254]"} {
		all := &store.MCPClientIDMetadataDocuments{AllowedNetworks: []string{"0.0.0.0/0", "::/0"}}
		if _, err := docs.fetch(t.Context(), "https://"+ip+"/client.json", all, now); err == nil {
			t.Errorf("%s: fetched", ip)
		}
	}
}
