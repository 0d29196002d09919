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
	// Only names that could be addresses are parsed as one (a failed parse allocates its error,
	// and host names are the common case).
	if ipLike(name) {
		addr, perr := netip.ParseAddr(name)
		if perr != nil {
			return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "is not a valid IP address"))
		}
		if addr.Zone() != "" {
			return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "has an IPv6 zone"))
		}
		addr = addr.Unmap()
		return addr.String(), addr, nil
	}
	host := strings.TrimSuffix(name, ".")
	if host == "" || len(host) > maxNameLen {
		return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "is not a host name"))
	}
	labelStart := 0
	allDigits, upper := true, false
	for i := 0; i <= len(host); i++ {
		if i == len(host) || host[i] == '.' {
			label := host[labelStart:i]
			if len(label) == 0 || len(label) > 63 {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "has an empty or over-long label"))
			}
			if label[0] == '-' || label[len(label)-1] == '-' {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "has a label starting or ending with a hyphen"))
			}
			if i == len(host) && allDigits {
				return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "ends in a numeric label but is not an IP address"))
			}
			labelStart, allDigits = i+1, true
			continue
		}
		switch c := host[i]; {
		case c >= 'A' && c <= 'Z':
			upper, allDigits = true, false
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			allDigits = false
		case c >= '0' && c <= '9':
		default:
			return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrInvalidName, describe(name, "contains a character host names cannot have"))
		}
	}
	if upper {
		// Only ASCII is left, so ToLower is exact; names already in lower case (what clients
		// send) cost no allocation.
		host = strings.ToLower(host)
	}
	return host, netip.Addr{}, nil
}

// describe quotes a name for an error, shortened so that hostile input cannot flood logs.
func describe(name, problem string) string {
	const max = 80
	if len(name) > max {
		return fmt.Sprintf("%q… (%d bytes) %s", name[:max], len(name), problem)
	}
	return fmt.Sprintf("%q %s", name, problem)
}

// ipLike reports whether name can only be meant as an IP address: it has a colon (IPv6), or only
// digits and dots (IPv4).
func ipLike(name string) bool {
	if strings.IndexByte(name, ':') >= 0 {
		return true
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
