package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/netguard"
)

// Destination is where a client asked the gateway to go, in canonical form: Host is
// netguard.CanonicalHost's spelling (a lower-case DNS name without trailing dot, or an IP
// address without brackets), Port is never 0.
type Destination struct {
	Host string
	Port uint16
}

// String returns host:port, with IPv6 addresses in brackets.
func (d Destination) String() string {
	return net.JoinHostPort(d.Host, strconv.Itoa(int(d.Port)))
}

// IsIP reports whether the destination was given as an address rather than a name.
func (d Destination) IsIP() bool { return netguard.IsIPLiteral(d.Host) }

// Errors ParseAuthority returns; they say what is wrong without echoing the input.
var (
	ErrBadAuthority = errors.New("the destination must be host:port")
	ErrBadHost      = errors.New("the destination host is not a valid host name or IP address")
	ErrBadPort      = errors.New("the destination port must be a number between 1 and 65535")
)

// maxAuthorityLen bounds what ParseAuthority looks at: a 253-byte name, brackets and a port.
const maxAuthorityLen = 512

// ParseAuthority parses the authority of a CONNECT request or of an absolute URL ("host",
// "host:port", "[v6]:port"), canonicalising the host (netguard.CanonicalHost). defaultPort is
// used when there is no port; 0 makes the port required (CONNECT). User information is refused.
func ParseAuthority(authority string, defaultPort uint16) (Destination, error) {
	if authority == "" || len(authority) > maxAuthorityLen || strings.ContainsAny(authority, "@/?#\\ \t\r\n") {
		return Destination{}, ErrBadAuthority
	}
	host, portText := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return Destination{}, ErrBadHost
		}
		host, portText = authority[:end+1], authority[end+1:]
		if portText != "" {
			var ok bool
			if portText, ok = strings.CutPrefix(portText, ":"); !ok {
				return Destination{}, ErrBadAuthority
			}
			if portText == "" {
				return Destination{}, ErrBadPort
			}
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, portText = authority[:i], authority[i+1:]
		if strings.Contains(host, ":") {
			return Destination{}, ErrBadHost // an IPv6 address must be bracketed
		}
		if portText == "" {
			return Destination{}, ErrBadPort
		}
	}
	port := defaultPort
	if portText != "" {
		if len(portText) > 5 || strings.TrimLeft(portText, "0123456789") != "" {
			return Destination{}, ErrBadPort
		}
		n, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return Destination{}, ErrBadPort
		}
		port = uint16(n)
	}
	if port == 0 {
		return Destination{}, ErrBadPort
	}
	h, err := netguard.CanonicalHost(host)
	if err != nil {
		return Destination{}, ErrBadHost
	}
	return Destination{Host: h, Port: port}, nil
}

// RefusedError says why a destination was refused; its message is safe to show the client.
type RefusedError struct {
	Dest Destination
	// Addr is the refused address (the last one when a name resolved to several).
	Addr netip.Addr
	// Reason is a kebab-case reason for logs: "destination-loopback", "destination-private",
	// "destination-metadata", ..., "destination-self".
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == reasonSelf {
		return fmt.Sprintf("%s is this gateway itself", e.Dest)
	}
	what := strings.TrimPrefix(e.Reason, "destination-")
	if e.Dest.IsIP() {
		return fmt.Sprintf("%s is a %s address, which this gateway does not connect to", e.Dest.Host, what)
	}
	return fmt.Sprintf("%s resolves to a %s address (%s), which this gateway does not connect to", e.Dest.Host, what, e.Addr)
}

const reasonSelf = "destination-self"

// ErrUnresolvable is returned when a destination name has no address.
var ErrUnresolvable = errors.New("the destination host name could not be resolved")

// Resolver looks up the addresses of a host name (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Egress decides where the gateway may connect and connects there. A name is resolved once
// (gateway.hosts pins first, then DNS), every address is classified (netguard.Classify), and
// the address that passed is the one dialled, so a DNS answer that changes between the check
// and the connection (rebinding) changes nothing. Only public addresses pass, and others inside
// Allowed; the gateway's own listening addresses never do.
type Egress struct {
	// Pins are gateway.hosts: canonical name → address.
	Pins map[string]netip.Addr
	// Allowed are gateway.allowed_private_networks.
	Allowed []netip.Prefix
	// Resolver resolves names that are not pinned; default net.DefaultResolver.
	Resolver Resolver
	// ConnectTimeout bounds resolving and connecting; default 30s.
	ConnectTimeout time.Duration

	self atomic.Pointer[[]netip.AddrPort]
}

// SetSelf records the addresses the gateway process listens on (every listener: gateway,
// public, internal). An unspecified listening address (":3128") stands for every address of
// the machine.
func (e *Egress) SetSelf(addrs []net.Addr) {
	var self []netip.AddrPort
	var local []netip.Addr
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			continue
		}
		if !ap.Addr().IsUnspecified() {
			self = append(self, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
			continue
		}
		if local == nil {
			local = localAddrs()
		}
		for _, l := range local {
			self = append(self, netip.AddrPortFrom(l, ap.Port()))
		}
	}
	e.self.Store(&self)
}

// localAddrs returns the machine's interface addresses (with the loopback addresses, which
// the interface list may leave out).
func localAddrs() []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range ifs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// isSelf reports whether addr:port is one of the gateway's own listeners. Every loopback
// address counts for a loopback listener: 127.0.0.2 reaches a socket bound to 0.0.0.0 too, and
// a listener on 127.0.0.1 is the same process whichever loopback spelling reaches it.
func (e *Egress) isSelf(addr netip.Addr, port uint16) bool {
	p := e.self.Load()
	if p == nil {
		return false
	}
	for _, s := range *p {
		if s.Port() != port {
			continue
		}
		if s.Addr() == addr || s.Addr().IsLoopback() && addr.IsLoopback() {
			return true
		}
	}
	return false
}

// Vet returns nil when the gateway may connect to addr on port, and a *RefusedError otherwise.
func (e *Egress) Vet(d Destination, addr netip.Addr) error {
	addr = addr.WithZone("").Unmap()
	if e.isSelf(addr, d.Port) {
		return &RefusedError{Dest: d, Addr: addr, Reason: reasonSelf}
	}
	class := netguard.Classify(addr)
	if class == netguard.ClassPublic {
		return nil
	}
	for _, p := range e.Allowed {
		if p.Contains(addr) {
			return nil
		}
	}
	return &RefusedError{Dest: d, Addr: addr, Reason: "destination-" + class.String()}
}

// Resolve returns the addresses of d that the gateway may connect to, in the resolver's order.
// It fails with a *RefusedError when every address is refused, and ErrUnresolvable when there
// are none.
func (e *Egress) Resolve(ctx context.Context, d Destination) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(d.Host); err == nil {
		addrs = []netip.Addr{a}
	} else if pin, ok := e.Pins[d.Host]; ok {
		addrs = []netip.Addr{pin}
	} else {
		r := e.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		found, err := r.LookupNetIP(ctx, "ip", d.Host)
		if err != nil || len(found) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrUnresolvable, d.Host)
		}
		addrs = found
	}
	var ok []netip.Addr
	var refused error
	for _, a := range addrs {
		if err := e.Vet(d, a); err != nil {
			refused = err
			continue
		}
		ok = append(ok, a.WithZone("").Unmap())
	}
	if len(ok) == 0 {
		return nil, refused
	}
	return ok, nil
}

// Dial connects to the first address of addrs that answers (addresses Resolve returned), within
// ConnectTimeout in all. As in net.Dialer, each attempt gets an equal share of the time left, so
// one unreachable address does not use up the time of the next.
func (e *Egress) Dial(ctx context.Context, d Destination, addrs []netip.Addr) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, e.connectTimeout())
	defer cancel()
	var lastErr error = ErrUnresolvable
	for i, a := range addrs {
		deadline, _ := ctx.Deadline()
		share := time.Until(deadline) / time.Duration(len(addrs)-i)
		dialer := net.Dialer{Timeout: max(share, min(2*time.Second, time.Until(deadline)))}
		conn, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, d.Port).String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (e *Egress) connectTimeout() time.Duration {
	if e.ConnectTimeout > 0 {
		return e.ConnectTimeout
	}
	return 30 * time.Second
}
