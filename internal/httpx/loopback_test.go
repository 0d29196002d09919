package httpx

import (
	"regexp"
	"strings"
	"testing"
)

// loopbackCases are the hosts of docs/saas.md's rule for plain-http SaaS URLs; they seed
// FuzzLoopbackHTTPHost.
var loopbackCases = []struct {
	hostport string
	want     bool
}{
	{"localhost", true},
	{"localhost:8080", true},
	{"LocalHost:1", true},
	{"127.0.0.1", true},
	{"127.0.0.1:", true},
	{"127.0.0.0", true},
	{"127.255.255.255:65535", true},
	{"127.8.9.10", true},
	{"[::1]", true},
	{"[::1]:9000", true},

	{"[::Ffff:127.0.0.0]", false}, // the input FuzzValidateRedirectURI found (issue 12)
	{"[::ffff:127.0.0.1]", false},
	{"[::ffff:7f00:1]", false},
	{"[::127.0.0.1]", false},
	{"[0:0:0:0:0:0:0:1]", false},
	{"[::0001]", false},
	{"[::1%lo0]", false},
	{"[::1%25lo0]", false},
	{"[::1]x", false},
	{"[::1", false},
	{"[127.0.0.1]", false},
	{"[localhost]", false},
	{"127.1", false},
	{"127.0.1", false},
	{"2130706433", false},
	{"0x7f000001", false},
	{"0x7f.0.0.1", false},
	{"0x7f.1", false},
	{"0177.0.0.1", false},
	{"127.000.000.001", false},
	{"127.0.0.01", false},
	{"127.0.0.1.", false},
	{"127.0.0.256", false},
	{"128.0.0.1", false},
	{"0.0.0.0", false},
	{"[::]", false},
	{"localhost.", false},
	{"localhoſt", false}, // U+017F folds to "s" under Unicode rules
	{"ｌocalhost", false},
	{"localhost.evil.example", false},
	{"127.0.0.1.nip.io", false},
	{"evil.example", false},
	{"", false},
	{"localhost:80:80", false},
	{"localhost:x", false},
}

func TestLoopbackHTTPHost(t *testing.T) {
	for _, tc := range loopbackCases {
		if got := LoopbackHTTPHost(tc.hostport); got != tc.want {
			t.Errorf("LoopbackHTTPHost(%q) = %v, want %v", tc.hostport, got, tc.want)
		}
	}
}

// The rule restated from the documentation, sharing no code with LoopbackHTTPHost: "localhost"
// in ASCII letters of any case, 127 and three decimal octets (0-255) without leading zeros, or
// exactly "[::1]"; then nothing or a colon and digits.
var (
	specOctet    = `(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`
	specLoopback = regexp.MustCompile(`^(localhost|127\.` + specOctet + `\.` + specOctet + `\.` + specOctet + `|\[::1\])(:[0-9]*)?$`)
)

func loopbackBySpec(hostport string) bool {
	for i := 0; i < len(hostport); i++ {
		if hostport[i] >= 0x80 {
			return false
		}
	}
	// ASCII only, so strings.ToLower folds exactly A-Z.
	return specLoopback.MatchString(strings.ToLower(hostport))
}

// FuzzLoopbackHTTPHost compares LoopbackHTTPHost with the documented rule.
func FuzzLoopbackHTTPHost(f *testing.F) {
	for _, tc := range loopbackCases {
		f.Add(tc.hostport)
	}
	f.Fuzz(func(t *testing.T, hostport string) {
		if got, want := LoopbackHTTPHost(hostport), loopbackBySpec(hostport); got != want {
			t.Fatalf("LoopbackHTTPHost(%q) = %v, the documented rule says %v", hostport, got, want)
		}
	})
}
