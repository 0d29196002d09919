package netguard

import "net/netip"

// Class is what kind of address an IP address is, for deciding whether Gatehouse may connect
// to it. IPv4 addresses inside IPv6 forms (mapped, IPv4-compatible, IPv4-translated, 6to4,
// NAT64) are classified by the IPv4 address they carry.
type Class uint8

// Address classes. Only ClassPublic is an ordinary Internet address.
const (
	ClassPublic Class = iota
	// ClassLoopback: 127.0.0.0/8, ::1.
	ClassLoopback
	// ClassPrivate: RFC 1918, shared address space (100.64.0.0/10, CGNAT), unique local IPv6
	// (fc00::/7), site-local IPv6 and the local-use NAT64 prefix.
	ClassPrivate
	// ClassLinkLocal: 169.254.0.0/16, fe80::/10.
	ClassLinkLocal
	// ClassMetadata: cloud instance metadata services (169.254.169.254, fd00:ec2::254,
	// 100.100.100.200).
	ClassMetadata
	// ClassUnspecified: 0.0.0.0/8 ("this network"), ::.
	ClassUnspecified
	// ClassMulticast: 224.0.0.0/4, ff00::/8.
	ClassMulticast
	// ClassReserved: 240.0.0.0/4, including the broadcast address.
	ClassReserved
	// ClassSpecial: other special-purpose ranges that are not reachable Internet hosts
	// (documentation, benchmarking, IETF protocol assignments, discard-only, Teredo).
	ClassSpecial
)

var classNames = [...]string{
	ClassPublic: "public", ClassLoopback: "loopback", ClassPrivate: "private", ClassLinkLocal: "link-local",
	ClassMetadata: "metadata", ClassUnspecified: "unspecified", ClassMulticast: "multicast",
	ClassReserved: "reserved", ClassSpecial: "special-purpose",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

type classRange struct {
	p netip.Prefix
	c Class
}

// classRanges are checked in order; the first containing prefix wins (metadata before the
// ranges that contain it).
var classRanges = []classRange{
	{netip.MustParsePrefix("169.254.169.254/32"), ClassMetadata},
	{netip.MustParsePrefix("100.100.100.200/32"), ClassMetadata}, // Alibaba Cloud
	{netip.MustParsePrefix("fd00:ec2::254/128"), ClassMetadata},  // AWS IMDS over IPv6
	{netip.MustParsePrefix("0.0.0.0/8"), ClassUnspecified},
	{netip.MustParsePrefix("::/128"), ClassUnspecified},
	{netip.MustParsePrefix("127.0.0.0/8"), ClassLoopback},
	{netip.MustParsePrefix("::1/128"), ClassLoopback},
	{netip.MustParsePrefix("10.0.0.0/8"), ClassPrivate},
	{netip.MustParsePrefix("172.16.0.0/12"), ClassPrivate},
	{netip.MustParsePrefix("192.168.0.0/16"), ClassPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), ClassPrivate},
	{netip.MustParsePrefix("fc00::/7"), ClassPrivate},
	{netip.MustParsePrefix("fec0::/10"), ClassPrivate},
	{netip.MustParsePrefix("64:ff9b:1::/48"), ClassPrivate},
	{netip.MustParsePrefix("169.254.0.0/16"), ClassLinkLocal},
	{netip.MustParsePrefix("fe80::/10"), ClassLinkLocal},
	{netip.MustParsePrefix("224.0.0.0/4"), ClassMulticast},
	{netip.MustParsePrefix("ff00::/8"), ClassMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), ClassReserved},
	{netip.MustParsePrefix("192.0.0.0/24"), ClassSpecial},
	{netip.MustParsePrefix("192.0.2.0/24"), ClassSpecial},
	{netip.MustParsePrefix("198.18.0.0/15"), ClassSpecial},
	{netip.MustParsePrefix("198.51.100.0/24"), ClassSpecial},
	{netip.MustParsePrefix("203.0.113.0/24"), ClassSpecial},
	{netip.MustParsePrefix("100::/64"), ClassSpecial},
	{netip.MustParsePrefix("2001::/32"), ClassSpecial}, // Teredo: the embedded client address is obfuscated
	{netip.MustParsePrefix("2001:db8::/32"), ClassSpecial},
}

var (
	compat4   = netip.MustParsePrefix("::/96")
	translate = netip.MustParsePrefix("::ffff:0:0:0/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
)

// Classify returns the class of addr; an invalid address is ClassUnspecified.
func Classify(addr netip.Addr) Class {
	addr = Embedded(addr)
	if !addr.IsValid() {
		return ClassUnspecified
	}
	for _, r := range classRanges {
		if r.p.Contains(addr) {
			return r.c
		}
	}
	return ClassPublic
}

// Embedded returns the IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible,
// IPv4-translated, 6to4, NAT64), or addr itself (without a zone).
func Embedded(addr netip.Addr) netip.Addr {
	addr = addr.WithZone("").Unmap()
	if !addr.Is6() {
		return addr
	}
	b := addr.As16()
	switch {
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	case nat64.Contains(addr), translate.Contains(addr):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case compat4.Contains(addr) && addr != netip.IPv6Unspecified() && addr != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	return addr
}
