package gateway

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
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

// fakeDevices accepts one device's credentials and fails for "broken".
type fakeDevices struct{}

func (fakeDevices) VerifyDevice(_ context.Context, user, pass string) (*Identity, string, error) {
	switch {
	case user == "broken":
		return nil, "", errors.New("store unavailable")
	case user == "dev-1" && pass == "device-secret":
		return &Identity{UserID: "u1", Email: "ada@example.com", Groups: []string{"eng"}, DeviceID: "dev-1"}, "", nil
	}
	return nil, "device-unknown", nil
}

// TestDeviceVerifierSeam: credentials that are not a service token's go to the DeviceVerifier;
// its identity reaches the tunnel decision, its refusals are 407 and its failures 503.
func TestDeviceVerifierSeam(t *testing.T) {
	echo := echoServer(t)
	seen := make(chan *Identity, 1)
	gw := newTestGateway(t, Options{Devices: fakeDevices{},
		Locations: []Location{{Name: "loopback", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		Decide: func(_ context.Context, tn *Tunnel) TunnelAction {
			seen <- tn.Identity
			return TunnelSplice
		}})
	for _, tc := range []struct {
		user, pass string
		want       int
	}{
		{"dev-1", "device-secret", http.StatusOK},
		{"dev-1", "wrong", http.StatusProxyAuthRequired},
		{"broken", "x", http.StatusServiceUnavailable},
		{"ci", testSecret, http.StatusOK},
		{"ci", "device-secret", http.StatusProxyAuthRequired},
	} {
		c, err := net.DialTimeout("tcp", gw, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		auth := base64.StdEncoding.EncodeToString([]byte(tc.user + ":" + tc.pass))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n", echo, auth)
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.user, resp.StatusCode, tc.want)
		}
		if tc.want != http.StatusOK {
			continue
		}
		id := <-seen
		switch tc.user {
		case "dev-1":
			if id.Email != "ada@example.com" || id.DeviceID != "dev-1" || id.Location != "loopback" || !id.ClientIP.IsLoopback() {
				t.Errorf("device identity: %+v", id)
			}
		case "ci":
			if id.ServiceTokenID != "ci" || id.Email != "" {
				t.Errorf("service token identity: %+v", id)
			}
		}
	}
}
