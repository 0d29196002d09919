package rules

import (
	"slices"
	"testing"
)

func TestFieldStrings(t *testing.T) {
	p, err := Compile([]Rule{
		{ID: "a", Enabled: true, Action: "block", Traffic: `any(dlp.profiles[*] in {"pii" "financial_information"}) or any(dlp.profiles[*] in $extra)`},
		{ID: "b", Enabled: true, Action: "block", Traffic: `not any(dlp.profiles[*] == "pii") and http.request.host == "x"`, Identity: `identity.email == "pii@example.com"`},
		{ID: "c", Enabled: false, Action: "block", Traffic: `any(dlp.profiles[*] == "disabled_profile")`},
		{ID: "d", Enabled: true, Action: "block", Traffic: `any(dlp.profiles[*] contains "sec")`},
	}, Options{Lists: Lists{"extra": {"credentials_and_secrets"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := p.FieldStrings("dlp.profiles")
	if want := []string{"pii", "financial_information", "credentials_and_secrets"}; !slices.Equal(got, want) {
		t.Fatalf("FieldStrings = %q, want %q", got, want)
	}
	if got := p.FieldStrings("http.request.host"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("hosts = %q", got)
	}
}
