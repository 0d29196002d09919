package dlp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// contentCodings parses an HTTP Content-Encoding value (RFC 9110 §8.4): a
// list of codings in the order they were applied. Names are folded to
// lower case, "x-gzip" read as gzip, and "identity" and empty elements
// dropped.
func contentCodings(v string) []string {
	var out []string
	for _, c := range strings.Split(v, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
			continue
		case "x-gzip":
			c = "gzip"
		}
		out = append(out, c)
	}
	return out
}

// decodeDeclared removes the declared content codings, last applied first.
// Each is verified against the body before it is decoded: a body that is
// not what its coding says (declared gzip, but no gzip header), or a
// coding that is not supported (compress, exi, aes128gcm…), makes the
// verdict incomplete and the body is scanned as it is, sniffed like an
// undeclared one, so nothing is lost. What is left after the codings takes
// the Content-Type (multipart boundaries, charset).
func (s *scanner) decodeDeclared(br *bufio.Reader, codings []string, p []string, depth int, ct string) error {
	if len(codings) == 0 {
		s.scanStream(br, p, depth, Hints{ContentType: ct})
		return nil
	}
	if depth > s.o.MaxDepth {
		s.incomplete("%s: nesting deeper than %d layers", pathString(p), s.o.MaxDepth)
		return nil
	}
	c, rest := codings[len(codings)-1], codings[:len(codings)-1]
	full, _ := br.Peek(br.Size())
	if len(full) == 0 {
		return nil // an empty body (HEAD, 204) holds nothing to decode
	}
	whole := len(full) < br.Size()
	var dec io.Reader
	var name string
	switch c {
	case "gzip":
		if bytes.HasPrefix(full, []byte{0x1f, 0x8b}) && gzipHeaderValid(br) {
			zr, err := gzip.NewReader(br)
			if err == nil {
				defer zr.Close()
				dec, name = zr, "gzip"
			}
		}
	case "deflate":
		// RFC 9110's deflate is a zlib stream; raw deflate is what some
		// servers send instead.
		if zlibHeader(full) && zlibTrial(br) {
			zr, err := zlib.NewReader(br)
			if err == nil {
				defer zr.Close()
				dec, name = zr, "deflate"
			}
		} else if trialDecode(flate.NewReader(bytes.NewReader(full)), whole) {
			fr := flate.NewReader(br)
			defer fr.Close()
			dec, name = fr, "deflate"
		}
	case "br":
		if trialDecode(brotli.NewReader(bytes.NewReader(full)), whole) {
			dec, name = brotli.NewReader(br), "brotli"
		}
	case "zstd":
		if bytes.HasPrefix(full, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
			if err == nil {
				defer zr.Close()
				dec, name = zr, "zstd"
			}
		}
	default:
		s.incomplete("%s: Content-Encoding %q is not supported", pathString(p), c)
		s.scanStream(br, p, depth, Hints{ContentType: ct})
		return nil
	}
	if dec == nil {
		s.incomplete("%s: declared Content-Encoding %s, but the body is not %s", pathString(p), c, c)
		s.scanStream(br, p, depth, Hints{ContentType: ct})
		return nil
	}
	// A decoder error past the head (a truncated or corrupt stream)
	// surfaces as a read error of the layer and makes the verdict
	// incomplete.
	return s.decodeDeclared(bufio.NewReaderSize(s.budget(dec), 4096), rest, with(p, name), depth+1, ct)
}

// zlibHeader reports a two-byte zlib header (CM 8, window ≤ 32 KiB, check
// bits, no preset dictionary).
func zlibHeader(head []byte) bool {
	return len(head) >= 2 && head[0]&0x0f == 8 && head[0]>>4 <= 7 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 && head[1]&0x20 == 0
}

// trialDecode reads up to 64 KiB from a decoder over a head of the body:
// the head must decode without error, up to its end when it is the whole
// body (whole) or until it runs out otherwise.
func trialDecode(r io.Reader, whole bool) bool {
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	_, err := io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	return err == nil || !whole && errors.Is(err, io.ErrUnexpectedEOF)
}
