package config

import (
	"strings"
	"testing"
)

const designHead = "version: 1\nsecrets: {master_key_file: m.key}\n"

func TestLoginDesignProblems(t *testing.T) {
	in := designHead + `organization:
  auth_domain: auth.example.com
  login_design:
    background_color: "#ffffff"
    text_color: "#eeeeee"
    logo_path: http://cdn.example.com/logo.png
applications:
  - {id: a, destinations: [a.example.com], upstream: 'http://a', logo_url: 'http://cdn.example.com/a.png'}
  - {id: b, destinations: [b.example.com], upstream: 'http://b', logo_url: 'ftp://cdn.example.com/b.png'}
`
	got := strings.Join(problemStrings(t, in), "\n")
	for _, want := range []string{
		`7:17: organization.login_design.text_color: text #eeeeee on background #ffffff has a contrast of 1.2:1; at least 4.5:1 is needed`,
		`8:16: organization.login_design.logo_path: must use https://`,
		`10:76: applications[0].logo_url: must use https://`,
		`11:76: applications[1].logo_url: must be an https:// URL or a data:image/... URL`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "applications[1].logo_url"); n != 1 {
		t.Errorf("applications[1].logo_url reported %d times:\n%s", n, got)
	}
	bad := designHead + `organization: {auth_domain: auth.example.com, login_design: {background_color: navy, text_color: "#12"}}` + "\n"
	got = strings.Join(problemStrings(t, bad), "\n")
	for _, want := range []string{"organization.login_design.background_color: must be a colour such as #1d2330", "organization.login_design.text_color: must be a colour"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestLoginDesignAccepted(t *testing.T) {
	in := designHead + `organization:
  name: Acme
  auth_domain: auth.example.com
  login_design:
    background_color: "#0b1f3a"
    text_color: "#fff"
    logo_path: https://cdn.example.com/acme.svg
    header_text: Acme Corp single sign-on
    footer_text: Need help? it@acme.example
applications:
  - {id: a, destinations: [a.example.com], upstream: 'http://a', logo_url: 'https://cdn.example.com/a.png'}
`
	f, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	d := f.storeConfig().Organization.LoginDesign
	if d == nil || d.BackgroundColor != "#0b1f3a" || d.TextColor != "#fff" || d.LogoPath != "https://cdn.example.com/acme.svg" ||
		d.HeaderText != "Acme Corp single sign-on" || d.FooterText != "Need help? it@acme.example" {
		t.Errorf("login_design = %+v", d)
	}
	data := strings.Replace(in, "https://cdn.example.com/acme.svg", "'data:image/png;base64,iVBORw0KGgo='", 1)
	if _, err := Parse([]byte(data), ""); err != nil {
		t.Errorf("data:image logo refused: %v", err)
	}
	appData := strings.Replace(in, "'https://cdn.example.com/a.png'", "'data:image/svg+xml;base64,PHN2Zy8+'", 1)
	if _, err := Parse([]byte(appData), ""); err != nil {
		t.Errorf("data:image application logo_url refused: %v", err)
	}
}
