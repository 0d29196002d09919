package criteria

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ParsePrefix parses an ip selector or IP list value: a CIDR ("10.0.0.0/8", "2001:db8::/32") or
// a single address ("192.0.2.1", "2001:db8::1"). Host bits are cleared, and 4-in-6 mapped
// prefixes ("::ffff:192.0.2.0/120") become IPv4 prefixes, because client addresses are
// unmapped before matching. Zones are rejected.
func ParsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR: %w", err)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid IP address: %w", err)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("invalid IP address %q: zones are not allowed", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// IP returns the ip selector for a CIDR or single address (see ParsePrefix).
func IP(s string) (Criterion, error) {
	p, err := ParsePrefix(s)
	if err != nil {
		return Criterion{}, err
	}
	return Criterion{kind: KindIP, prefix: p}, nil
}

// IPList returns the ip_list selector for a compiled list.
func IPList(set *IPSet) Criterion {
	return Criterion{kind: KindIPList, ext: &extension{ips: set}}
}

// IPSet is an immutable set of IP ranges with logarithmic, allocation-free lookup, for IP
// lists of any size.
type IPSet struct {
	v4 []span4
	v6 []span6
}

type span4 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

type span6 struct{ lo, hi u128 }

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// NewIPSet builds a set from prefixes (as returned by ParsePrefix). Invalid prefixes are
// ignored.
func NewIPSet(prefixes []netip.Prefix) *IPSet {
	s := &IPSet{}
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		a, bits := p.Addr(), p.Bits()
		if a.Is4() {
			lo := addr4(a)
			s.v4 = append(s.v4, span4{lo, lo | ^uint32(0)>>bits})
			continue
		}
		lo := addr6(a)
		hi := lo
		if bits < 64 {
			hi.hi |= ^uint64(0) >> bits
			hi.lo = ^uint64(0)
		} else if bits < 128 {
			hi.lo |= ^uint64(0) >> (bits - 64)
		}
		s.v6 = append(s.v6, span6{lo, hi})
	}
	slices.SortFunc(s.v4, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	slices.SortFunc(s.v6, func(a, b span6) int { return a.lo.cmp(b.lo) })
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s
}

func merge4(in []span4) []span4 {
	out := in[:0]
	for _, sp := range in {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || sp.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

func merge6(in []span6) []span6 {
	out := in[:0]
	for _, sp := range in {
		if n := len(out); n > 0 {
			next, ok := out[n-1].hi.next()
			if !ok || sp.lo.cmp(next) <= 0 {
				if sp.hi.cmp(out[n-1].hi) > 0 {
					out[n-1].hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// Contains reports whether a is in the set. 4-in-6 mapped addresses are unmapped first.
func (s *IPSet) Contains(a netip.Addr) bool {
	if s == nil {
		return false
	}
	a = a.Unmap()
	switch {
	case a.Is4():
		x := addr4(a)
		lo, hi := 0, len(s.v4)
		for lo < hi { // first span with hi >= x
			m := int(uint(lo+hi) >> 1)
			if s.v4[m].hi < x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo < len(s.v4) && s.v4[lo].lo <= x
	case a.Is6():
		x := addr6(a)
		lo, hi := 0, len(s.v6)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.v6[m].hi.cmp(x) < 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo < len(s.v6) && s.v6[lo].lo.cmp(x) <= 0
	}
	return false
}

// Len returns the number of disjoint ranges in the set.
func (s *IPSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.v4) + len(s.v6)
}
