package httpx

import "testing"

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"App.Example.COM:8443": "app.example.com", "app.example.com.": "app.example.com", "[::1]:80": "::1",
		"app.example.com": "app.example.com", "\u212aelvin.example.com": "\u212aelvin.example.com",
	} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
