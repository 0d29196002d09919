package inspect

import (
	"errors"
	"fmt"
	"io"
)

// ClientHello is what the gateway reads from a TLS ClientHello before deciding a tunnel.
type ClientHello struct {
	// ServerName is the server_name extension's host name ("" when the client sent none).
	ServerName string
	// ALPN lists the application protocols the client offers.
	ALPN []string
}

// ErrNotTLS is returned when a tunnel's first bytes are not a TLS ClientHello.
var ErrNotTLS = errors.New("the tunnel does not start with a TLS ClientHello")

// maxHelloBytes bounds the records ReadClientHello reads (a ClientHello with post-quantum key
// shares is a few KiB).
const maxHelloBytes = 64 << 10

const (
	recordHandshake  = 22
	handshakeHello   = 1
	extServerName    = 0
	extALPN          = 16
	recordHeaderSize = 5
)

// ReadClientHello reads the TLS records that carry the ClientHello from r and parses it. It
// returns the bytes read (to be replayed to the TLS server or the destination) with the parsed
// hello; bytes read before an error are returned too. It never reads beyond the records of the
// ClientHello.
func ReadClientHello(r io.Reader) (raw []byte, hello *ClientHello, err error) {
	var msg []byte
	need := -1 // handshake message length with its 4-byte header, once known
	// The first byte alone says whether this can be TLS: a protocol that is not TLS is known
	// without waiting for more bytes than its client sends.
	var first [1]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return nil, nil, notTLS(err, 0)
	}
	raw = append(raw, first[0])
	if first[0] != recordHandshake {
		return raw, nil, ErrNotTLS
	}
	for need < 0 || len(msg) < need {
		start := len(raw)
		header := recordHeaderSize
		if start == 1 {
			start, header = 0, recordHeaderSize-1 // the first byte is read
		}
		raw = append(raw, make([]byte, header)...)
		if n, err := io.ReadFull(r, raw[len(raw)-header:]); err != nil {
			return raw[:len(raw)-header+n], nil, notTLS(err, len(raw)-header+n)
		}
		h := raw[start:]
		if h[0] != recordHandshake || h[1] != 3 {
			return raw, nil, ErrNotTLS
		}
		n := int(h[3])<<8 | int(h[4])
		if n == 0 || n > 1<<14+256 || len(raw)+n > maxHelloBytes {
			return raw, nil, fmt.Errorf("%w: bad record length %d", ErrNotTLS, n)
		}
		body := len(raw)
		raw = append(raw, make([]byte, n)...)
		if _, err := io.ReadFull(r, raw[body:]); err != nil {
			return raw[:body], nil, fmt.Errorf("%w: truncated record: %w", ErrNotTLS, err)
		}
		msg = append(msg, raw[body:]...)
		if need < 0 && len(msg) >= 4 {
			if msg[0] != handshakeHello {
				return raw, nil, fmt.Errorf("%w: first handshake message is type %d", ErrNotTLS, msg[0])
			}
			need = 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if need > maxHelloBytes {
				return raw, nil, fmt.Errorf("%w: ClientHello of %d bytes", ErrNotTLS, need)
			}
		}
	}
	hello, err = ParseClientHello(msg[4:need])
	return raw, hello, err
}

func notTLS(err error, read int) error {
	if read == 0 && errors.Is(err, io.EOF) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrNotTLS, err)
}

// ParseClientHello parses the body of a ClientHello handshake message (without its 4-byte
// header).
func ParseClientHello(b []byte) (*ClientHello, error) {
	s := reader(b)
	var sessionID, suites, compression, exts reader
	if !s.skip(2+32) || !s.vec8(&sessionID) || !s.vec16(&suites) || !s.vec8(&compression) {
		return nil, fmt.Errorf("%w: malformed ClientHello", ErrNotTLS)
	}
	hello := &ClientHello{}
	if len(s) == 0 {
		return hello, nil // no extensions
	}
	if !s.vec16(&exts) || len(s) != 0 {
		return nil, fmt.Errorf("%w: malformed ClientHello extensions", ErrNotTLS)
	}
	seen := map[uint16]bool{}
	for len(exts) > 0 {
		var typ uint16
		var data reader
		if !exts.u16(&typ) || !exts.vec16(&data) {
			return nil, fmt.Errorf("%w: malformed extension", ErrNotTLS)
		}
		if seen[typ] {
			return nil, fmt.Errorf("%w: extension %d sent twice", ErrNotTLS, typ)
		}
		seen[typ] = true
		switch typ {
		case extServerName:
			var list reader
			if !data.vec16(&list) || len(data) != 0 {
				return nil, fmt.Errorf("%w: malformed server_name", ErrNotTLS)
			}
			for len(list) > 0 {
				var kind uint8
				var name reader
				if !list.u8(&kind) || !list.vec16(&name) {
					return nil, fmt.Errorf("%w: malformed server_name", ErrNotTLS)
				}
				if kind != 0 {
					continue
				}
				if hello.ServerName != "" || len(name) == 0 {
					return nil, fmt.Errorf("%w: bad server_name", ErrNotTLS)
				}
				for _, c := range name {
					if c <= ' ' || c >= 0x7f {
						return nil, fmt.Errorf("%w: server_name is not a host name", ErrNotTLS)
					}
				}
				hello.ServerName = string(name)
			}
		case extALPN:
			var list reader
			if !data.vec16(&list) || len(data) != 0 {
				return nil, fmt.Errorf("%w: malformed ALPN", ErrNotTLS)
			}
			for len(list) > 0 {
				var proto reader
				if !list.vec8(&proto) || len(proto) == 0 {
					return nil, fmt.Errorf("%w: malformed ALPN", ErrNotTLS)
				}
				hello.ALPN = append(hello.ALPN, string(proto))
			}
		}
	}
	return hello, nil
}

// reader reads big-endian TLS vectors.
type reader []byte

func (r *reader) skip(n int) bool {
	if len(*r) < n {
		return false
	}
	*r = (*r)[n:]
	return true
}

func (r *reader) u8(v *uint8) bool {
	if len(*r) < 1 {
		return false
	}
	*v = (*r)[0]
	*r = (*r)[1:]
	return true
}

func (r *reader) u16(v *uint16) bool {
	if len(*r) < 2 {
		return false
	}
	*v = uint16((*r)[0])<<8 | uint16((*r)[1])
	*r = (*r)[2:]
	return true
}

func (r *reader) vec(n int, out *reader) bool {
	if len(*r) < n {
		return false
	}
	*out = (*r)[:n]
	*r = (*r)[n:]
	return true
}

func (r *reader) vec8(out *reader) bool {
	var n uint8
	return r.u8(&n) && r.vec(int(n), out)
}

func (r *reader) vec16(out *reader) bool {
	var n uint16
	return r.u16(&n) && r.vec(int(n), out)
}
