package samlidp

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestURLProblem(t *testing.T) {
	for _, ok := range []string{
		"https://sp.example.com/acs", "https://sp.example.com:8443/saml/acs?tenant=a&x=1", "https://SP.Example.com/ACS",
		"http://127.0.0.1:8080/acs", "http://localhost/acs", "http://[::1]:9000/acs", "http://127.8.9.10/acs",
		"https://10.0.0.1/acs", "http://LOCALHOST:8080/acs", "https://[::ffff:127.0.0.1]/acs",
	} {
		if msg := urlProblem(ok); msg != "" {
			t.Errorf("urlProblem(%q) = %q, want ok", ok, msg)
		}
	}
	for _, bad := range []string{
		"javascript:alert(1)", "JavaScript:alert(1)", "javascript://sp.example.com/%0aalert(1)", "data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)", "file:///etc/passwd", "ftp://sp.example.com/acs", "//sp.example.com/acs", "/acs", "sp.example.com/acs",
		"http://sp.example.com/acs", "http://10.0.0.1/acs", "http://localhost.evil.com/acs", "http://127.0.0.1.nip.io/acs",
		"https://user:pass@sp.example.com/acs", "https://sp.example.com@evil.com/acs", "https://sp.example.com/acs#frag",
		"https://sp.example.com/a cs", "https://sp.example.com/acs\n", " https://sp.example.com/acs", "https:\\\\sp.example.com\\acs",
		"https:///acs", "https://", "", "https://sp.example.com/\x00",
		// Loopback addresses written in forms clients parse differently (docs/saas.md).
		"http://[::ffff:127.0.0.1]/acs", "http://[::Ffff:127.0.0.0]", "http://[::127.0.0.1]/acs", "http://[0:0:0:0:0:0:0:1]/acs",
		"http://[::1%25lo0]/acs", "http://127.1/acs", "http://2130706433/acs", "http://0x7f.1/acs", "http://0177.0.0.1/acs",
		"http://127.0.0.1./acs", "http://localhost./acs", "http://localhoſt/acs",
	} {
		if msg := urlProblem(bad); msg == "" {
			t.Errorf("urlProblem(%q) accepted it", bad)
		}
	}
}

func TestValidateApp(t *testing.T) {
	valid := func() *store.SaaSApp {
		return &store.SaaSApp{
			AuthType: store.SaaSAuthSAML, SPEntityID: "urn:sp:wiki", ConsumerServiceURL: testACS,
			DefaultRelayState: "https://wiki.example.com/",
			CustomAttributes: []store.SAMLAttribute{{
				Name: "team", NameFormat: NameFormatBasic, FriendlyName: "Team", Required: true,
				Source: store.AttributeSource{Name: "department", NameByIdP: []store.IdPSourceName{{IdPID: "github", SourceName: "org"}}},
			}},
		}
	}
	if err := ValidateApp(valid()); err != nil {
		t.Fatalf("valid app: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*store.SaaSApp)
		fields []string
	}{
		{"nothing set", func(a *store.SaaSApp) { *a = store.SaaSApp{AuthType: store.SaaSAuthSAML} }, []string{"sp_entity_id", "consumer_service_url"}},
		{"javascript ACS", func(a *store.SaaSApp) { a.ConsumerServiceURL = "javascript:alert(1)" }, []string{"consumer_service_url"}},
		{"data ACS", func(a *store.SaaSApp) { a.ConsumerServiceURL = "data:text/html;base64,PHNjcmlwdD4=" }, []string{"consumer_service_url"}},
		{"plain http ACS", func(a *store.SaaSApp) { a.ConsumerServiceURL = "http://wiki.example.com/acs" }, []string{"consumer_service_url"}},
		{"javascript relay state", func(a *store.SaaSApp) { a.DefaultRelayState = "javascript:alert(1)" }, []string{"default_relay_state"}},
		{"data relay state", func(a *store.SaaSApp) { a.DefaultRelayState = "data:,x" }, []string{"default_relay_state"}},
		{"relative relay state", func(a *store.SaaSApp) { a.DefaultRelayState = "/home" }, []string{"default_relay_state"}},
		{"entity ID with spaces", func(a *store.SaaSApp) { a.SPEntityID = " urn:sp " }, []string{"sp_entity_id"}},
		{"entity ID too long", func(a *store.SaaSApp) { a.SPEntityID = strings.Repeat("x", 1025) }, []string{"sp_entity_id"}},
		{"unknown name_id_format", func(a *store.SaaSApp) { a.NameIDFormat = "transient" }, []string{"name_id_format"}},
		{"wrong auth_type", func(a *store.SaaSApp) { a.AuthType = "oidc" }, []string{"auth_type"}},
		{"OIDC settings", func(a *store.SaaSApp) { a.ClientID, a.RedirectURIs = "c", []string{"https://x"} }, []string{"client_id", "redirect_uris"}},
		{"attribute problems", func(a *store.SaaSApp) {
			a.CustomAttributes = append(a.CustomAttributes,
				store.SAMLAttribute{Name: "team", NameFormat: "urn:bogus", Source: store.AttributeSource{Name: "x"}},
				store.SAMLAttribute{Name: "", FriendlyName: "bad\nname", Source: store.AttributeSource{
					NameByIdP: []store.IdPSourceName{{IdPID: "okta"}, {IdPID: "okta", SourceName: "y"}, {SourceName: "z"}}}},
			)
		}, []string{
			"custom_attributes[1].name", "custom_attributes[1].name_format",
			"custom_attributes[2].name", "custom_attributes[2].friendly_name", "custom_attributes[2].source.name",
			"custom_attributes[2].source.name_by_idp[0].source_name", "custom_attributes[2].source.name_by_idp[1].idp_id",
			"custom_attributes[2].source.name_by_idp[2].idp_id",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := valid()
			tc.modify(a)
			err := ValidateApp(a)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("ValidateApp = %v, want Errors", err)
			}
			var fields []string
			for _, e := range es {
				fields = append(fields, e.Field)
				if e.Msg == "" {
					t.Errorf("%s: empty message", e.Field)
				}
			}
			slices.Sort(fields)
			want := slices.Clone(tc.fields)
			slices.Sort(want)
			if !slices.Equal(fields, want) {
				t.Errorf("fields %v, want %v (%v)", fields, want, err)
			}
		})
	}
	var es Errors
	if !errors.As(ValidateApp(nil), &es) || len(es) != 1 {
		t.Error("nil saas_app")
	}
}
