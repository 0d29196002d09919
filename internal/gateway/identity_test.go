package gateway

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestBasicCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		values           []string
		user, pass, want string
	}{
		{nil, "", "", ReasonCredentialsMissing},
		{[]string{""}, "", "", ReasonCredentialsMissing},
		{[]string{"Basic " + b64("ci:secret")}, "ci", "secret", ""},
		{[]string{"basic  " + b64("ci:se:cret") + " "}, "ci", "se:cret", ""},
		{[]string{"Basic " + b64("ci:secret"), "Basic " + b64("other:secret")}, "", "", ReasonCredentialsMalformed},
		{[]string{"Bearer " + b64("ci:secret")}, "", "", ReasonCredentialsMalformed},
		{[]string{"Basic"}, "", "", ReasonCredentialsMalformed},
		{[]string{"Basic !!!"}, "", "", ReasonCredentialsMalformed},
		{[]string{"Basic " + b64("nocolon")}, "", "", ReasonCredentialsMalformed},
		{[]string{"Basic " + b64(":secret")}, "", "", ReasonCredentialsMalformed},
		{[]string{"Basic " + b64("ci:")}, "", "", ReasonCredentialsMalformed},
	} {
		user, pass, reason := basicCredentials(tc.values)
		if user != tc.user || pass != tc.pass || reason != tc.want {
			t.Errorf("basicCredentials(%q) = %q, %q, %q; want %q, %q, %q", tc.values, user, pass, reason, tc.user, tc.pass, tc.want)
		}
	}
}

// FuzzBasicCredentials: parsing never panics, and accepted credentials are exactly what the
// value encodes.
func FuzzBasicCredentials(f *testing.F) {
	for _, s := range []string{"Basic Y2k6c2VjcmV0", "basic Y2k6c2VjcmV0", "Basic", "Bearer x", "Basic Og==", "Basic Y2k6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		user, pass, reason := basicCredentials([]string{s})
		if reason != "" {
			if user != "" || pass != "" {
				t.Fatalf("%q: refused (%s) but returned credentials", s, reason)
			}
			return
		}
		if user == "" || pass == "" || strings.Contains(user, ":") {
			t.Fatalf("%q: accepted %q:%q", s, user, pass)
		}
		_, enc, _ := strings.Cut(strings.TrimSpace(s), " ")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil || string(raw) != user+":"+pass {
			t.Fatalf("%q: accepted %q:%q, which it does not encode", s, user, pass)
		}
	})
}
