package ca

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalidName is wrapped by the errors for names a leaf certificate cannot be minted for.
var ErrInvalidName = errors.New("invalid server name")

// ErrNoSNI: the client's TLS ClientHello carried no server name, so there is nothing to mint a
// certificate for (clients that use Encrypted Client Hello, or connect to a bare IP address).
var ErrNoSNI = fmt.Errorf("%w: the client sent no server name (SNI)", ErrInvalidName)

// maxNameLen is the longest DNS name (RFC 1035), without a trailing dot.
const maxNameLen = 253

// NormalizeName returns the form of name a leaf certificate is minted and cached for: an IP
// address in canonical form (ip valid), or a host name in lower case without a trailing dot.
// Host names are ASCII (A-labels): letters, digits, hyphens and underscores in dot-separated
// labels of 1 to 63 characters, not starting or ending with a hyphen, and not ending in an
// all-numeric label (browsers read those as IPv4 addresses). Wildcards, ports, zones, brackets
// and empty names are refused with an error wrapping ErrInvalidName.
func NormalizeName(name string) (canonical string, ip netip.Addr, err error) {
	if name == "" {
		return "", netip.Addr{}, ErrNoSNI
	}
	if addr, perr := netip.ParseAddr(name); perr == nil {
		if addr.Zone() != "" {
			return "", netip.Addr{}, fmt.Errorf("%w: %q has an IPv6 zone", ErrInvalidName, name)
		}
		addr = addr.Unmap()
		return addr.String(), addr, nil
	}
	host := strings.TrimSuffix(name, ".")
	if host == "" || len(host) > maxNameLen {
		return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "is not a host name"))
	}
	b := []byte(host)
	labelStart := 0
	allDigits := true
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			label := b[labelStart:i]
			if len(label) == 0 || len(label) > 63 {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "has an empty or over-long label"))
			}
			if label[0] == '-' || label[len(label)-1] == '-' {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "has a label starting or ending with a hyphen"))
			}
			if i == len(b) && allDigits {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "ends in a numeric label but is not an IP address"))
			}
			labelStart, allDigits = i+1, true
			continue
		}
		c := b[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
			allDigits = false
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			allDigits = false
		case c >= '0' && c <= '9':
		default:
			return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "contains a character host names cannot have"))
		}
	}
	return string(b), netip.Addr{}, nil
}

// describe quotes a name for an error, shortened so that hostile input cannot flood logs.
func describe(name, problem string) string {
	const max = 80
	if len(name) > max {
		return fmt.Sprintf("%q… (%d bytes) %s", name[:max], len(name), problem)
	}
	return fmt.Sprintf("%q %s", name, problem)
}
