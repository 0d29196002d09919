package dlp

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// testToken is a GitHub classic token with a valid checksum.
var testToken = githubToken(newGen(7), "ghp_")

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func zs(b []byte) []byte {
	enc, _ := zstd.NewWriter(nil)
	return enc.EncodeAll(b, nil)
}

func br(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 5)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func zipOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range files {
		f, _ := w.Create(name)
		_, _ = f.Write(data)
	}
	_ = w.Close()
	return buf.Bytes()
}

// docx builds a minimal document whose text splits v across two runs.
func docx(v string) []byte {
	h := len(v) / 2
	doc := `<?xml version="1.0"?><w:document xmlns:w="x"><w:body><w:p><w:r><w:t>token: ` + v[:h] +
		`</w:t></w:r><w:r><w:t>` + v[h:] + `</w:t></w:r></w:p></w:body></w:document>`
	return zipOf(map[string][]byte{"[Content_Types].xml": []byte("<Types/>"), "word/document.xml": []byte(doc),
		"word/_rels/document.xml.rels": []byte("<Relationships/>")})
}

func xlsx(v string) []byte {
	return zipOf(map[string][]byte{"[Content_Types].xml": []byte("<Types/>"),
		"xl/sharedStrings.xml": []byte(`<sst><si><t>key</t></si><si><t>` + v + `</t></si></sst>`)})
}

func pptx(v string) []byte {
	return zipOf(map[string][]byte{"[Content_Types].xml": []byte("<Types/>"),
		"ppt/slides/slide1.xml": []byte(`<p:sld><a:p><a:r><a:t>` + v + `</a:t></a:r></a:p></p:sld>`)})
}

func multipartBody(v string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("note", "hello")
	f, _ := w.CreateFormFile("upload", "secrets.txt")
	_, _ = f.Write([]byte("the token is " + v + "\n"))
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func interleave(s, sep string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '!' && r <= '~' {
			r += 0xFF01 - '!'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func scanAll(t *testing.T, e *Engine, data []byte, h Hints) Verdict {
	t.Helper()
	p, _ := PredefinedProfile("all")
	v, err := e.ScanHints(context.Background(), bytes.NewReader(data), p, h)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hasEntry(v Verdict, entry string) (Finding, bool) {
	for _, f := range v.Findings {
		if f.Entry == entry && !f.Example {
			return f, true
		}
	}
	return Finding{}, false
}

func TestEvasion(t *testing.T) {
	tok := testToken
	card := "4539 1488 0343 6467"
	text := []byte("config: " + tok + "\n")
	b64 := base64.StdEncoding.EncodeToString
	mp, mpType := multipartBody(tok)
	cases := []struct {
		name  string
		data  []byte
		hints Hints
		entry string
		path  string // expected path prefix of the finding
	}{
		{"plain", text, Hints{}, "github_token", ""},
		{"base64", []byte("blob=" + b64(text)), Hints{}, "github_token", "base64@5"},
		{"base64url", []byte("x " + base64.RawURLEncoding.EncodeToString(text)), Hints{}, "github_token", "base64@2"},
		{"gzip in base64", []byte(`{"data":"` + b64(gz(text)) + `"}`), Hints{}, "github_token", "base64@9/gzip"},
		{"hex", []byte("h=" + hex.EncodeToString(text)), Hints{}, "github_token", "hex@2"},
		{"gzip", gz(text), Hints{}, "github_token", "gzip"},
		{"zlib deflate", zl(text), Hints{}, "github_token", "deflate"},
		{"raw deflate (hinted)", rawDeflate(text), Hints{ContentEncoding: "deflate"}, "github_token", "deflate"},
		{"zstd", zs(text), Hints{}, "github_token", "zstd"},
		{"brotli (hinted)", br(text), Hints{ContentEncoding: "br"}, "github_token", "brotli"},
		{"brotli (sniffed)", br(text), Hints{}, "github_token", "brotli"},
		{"raw deflate (sniffed)", rawDeflate(text), Hints{}, "github_token", "deflate"},
		{"brotli in base64", []byte("payload=" + b64(br(bytes.Repeat(text, 3)))), Hints{}, "github_token", "base64@8/brotli"},
		{"zero-width spaces", []byte(interleave(tok, "\u200b")), Hints{}, "github_token", ""},
		{"soft hyphens and BOM", []byte(interleave(tok, "\u00ad\ufeff")), Hints{}, "github_token", ""},
		{"full-width", []byte(fullWidth(tok)), Hints{}, "github_token", ""},
		{"full-width card digits", []byte("card " + fullWidth(card)), Hints{}, "payment_card", ""},
		{"percent-encoded", []byte("q=" + strings.ReplaceAll(url.QueryEscape(tok), "_", "%5F")), Hints{}, "github_token", "+unescape"},
		{"percent every byte", []byte("q=" + percentAll(tok)), Hints{}, "github_token", "+unescape"},
		{"url-encoded form", []byte("name=a&cc=" + url.QueryEscape(card) + "&x=1"), Hints{}, "payment_card", "+unescape"},
		{"json escapes", []byte(`{"k":"` + jsonEscapeAll(tok) + `"}`), Hints{}, "github_token", "+unescape"},
		{"multipart", mp, Hints{ContentType: mpType}, "github_token", "multipart[1:secrets.txt]"},
		{"multipart sniffed", mp, Hints{}, "github_token", "multipart[1:secrets.txt]"},
		{"docx split runs", docx(tok), Hints{}, "github_token", "zip:word/document.xml/text"},
		{"xlsx", xlsx(tok), Hints{}, "github_token", "zip:xl/sharedStrings.xml/text"},
		{"pptx", pptx(tok), Hints{}, "github_token", "zip:ppt/slides/slide1.xml/text"},
		{"nested zip", zipOf(map[string][]byte{"inner.zip": zipOf(map[string][]byte{"a.txt": text})}), Hints{}, "github_token", "zip:inner.zip/zip:a.txt"},
		{"docx in gzip in base64", []byte(b64(gz(docx(tok)))), Hints{}, "github_token", "base64@0/gzip/zip:word/document.xml"},
		{"base64 inside percent", []byte("v=" + url.QueryEscape(b64(text))), Hints{}, "github_token", ""},
	}
	e := NewEngine(Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := scanAll(t, e, c.data, c.hints)
			f, ok := hasEntry(v, c.entry)
			if !ok {
				t.Fatalf("%s not found; verdict %+v", c.entry, v)
			}
			if got := strings.Join(f.Path, "/"); !strings.HasPrefix(got, c.path) {
				t.Errorf("path %q, want prefix %q", got, c.path)
			}
			if v.Incomplete {
				t.Errorf("unexpected incomplete: %v", v.Reasons)
			}
			if !v.Match {
				t.Error("verdict does not match")
			}
		})
	}
}

// TestSniffRejectsBinary: random binary heads (images, ciphertext) are not
// taken for brotli or raw deflate, and scanning them is complete.
func TestSniffRejectsBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	head := make([]byte, 4096)
	for i := 0; i < 20000; i++ {
		for k := range head {
			head[k] = byte(r.Uint32())
		}
		if enc := sniffHeaderless(head, i%2 == 0); enc != "" {
			t.Fatalf("random head %d sniffed as %s", i, enc)
		}
	}
	e := NewEngine(Options{})
	v := scanAll(t, e, head, Hints{})
	if v.Incomplete {
		t.Errorf("random binary: incomplete %v", v.Reasons)
	}
	// Binary that merely starts with a zlib header (78 01, one blob in a
	// few thousand) or the gzip signature is scanned as bytes, not reported undecodable, inline
	// in base64 (a PEM line) or as a whole body.
	for i := 0; i < 200; i++ {
		magic := [][]byte{{0x78, 0x01}, {0x78, 0x9c}, {0x1f, 0x8b}, {0x1f, 0x8b, 0x08}}[i%4]
		blob := append(append([]byte(nil), magic...), head[:46]...)
		head[i%len(head)] ^= 0x5a
		for _, data := range [][]byte{blob, []byte("cert: " + base64.StdEncoding.EncodeToString(blob) + "\n")} {
			if v := scanAll(t, e, data, Hints{}); v.Incomplete {
				t.Fatalf("zlib-looking binary %x: incomplete %v", data[:8], v.Reasons)
			}
		}
	}
	// A zlib stream with a wrong checksum is still decoded: its value is
	// found and the verdict is incomplete.
	z := zl([]byte("config: " + testToken + "\n"))
	z[len(z)-1] ^= 0xff
	v = scanAll(t, e, z, Hints{})
	if _, ok := hasEntry(v, "github_token"); !ok || !v.Incomplete {
		t.Errorf("zlib with a bad checksum: %+v", v)
	}
	// Compressed text is still recognised when it is long (several blocks).
	long := bytes.Repeat([]byte("lorem ipsum dolor sit amet "), 5000)
	for name, data := range map[string][]byte{"br": br(long), "deflate": rawDeflate(long)} {
		if got := sniffHeaderless(data[:min(len(data), 4096)], len(data) <= 4096); got != name {
			t.Errorf("%s stream sniffed as %q", name, got)
		}
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// TestChunkBoundaries moves a token across the window boundary one byte at
// a time with one-byte reads: it is found exactly once, at the right offset.
func TestChunkBoundaries(t *testing.T) {
	const chunk = 4096
	e := NewEngine(Options{ChunkSize: chunk})
	p, _ := PredefinedProfile("Credentials and Secrets")
	for shift := -45; shift <= 5; shift++ {
		for _, boundary := range []int{chunk, chunk + overlap, 2*chunk + overlap} {
			off := boundary + shift
			data := bytes.Repeat([]byte("lorem ipsum "), (off+200)/12+1)
			copy(data[off-1:], " "+testToken+" ")
			v, err := e.Scan(context.Background(), iotest.OneByteReader(bytes.NewReader(data)), p)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range v.Findings {
				if f.Entry == "github_token" {
					n++
					if f.Start != int64(off) || f.End != int64(off+len(testToken)) {
						t.Errorf("off %d: finding at %d-%d", off, f.Start, f.End)
					}
				}
			}
			if n != 1 {
				t.Errorf("off %d: %d findings, want 1", off, n)
			}
		}
	}
}

// TestLongBase64RunAcrossWindows hides a token in a base64 run longer than a
// window: the run is carried into one window and decoded whole.
func TestLongBase64RunAcrossWindows(t *testing.T) {
	payload := strings.Repeat("padding text ", 2000) + testToken
	data := []byte("x=" + base64.StdEncoding.EncodeToString([]byte(payload)) + " end")
	v := scanAll(t, NewEngine(Options{ChunkSize: 4096}), data, Hints{})
	if _, ok := hasEntry(v, "github_token"); !ok || v.Incomplete {
		t.Fatalf("not found or incomplete: %+v", v)
	}
}

// TestFailClosed checks every budget and undecodable input yields an
// incomplete verdict.
func TestFailClosed(t *testing.T) {
	text := []byte("nothing to see here\n")
	nested := text
	for i := 0; i < 12; i++ {
		nested = gz(nested)
	}
	bomb := gz(bytes.Repeat([]byte("a"), 4<<20))
	corrupt := gz(bytes.Repeat([]byte("hello world "), 1000))
	corrupt = corrupt[:len(corrupt)/2]
	encZip := zipOf(map[string][]byte{"a.txt": text})
	// Set the "encrypted" flag of the local and central headers.
	encZip = bytes.ReplaceAll(encZip, []byte("PK\x03\x04\x14\x00\x08\x00"), []byte("PK\x03\x04\x14\x00\x09\x00"))
	encZip = bytes.ReplaceAll(encZip, []byte("PK\x01\x02\x14\x00\x14\x00\x08\x00"), []byte("PK\x01\x02\x14\x00\x14\x00\x09\x00"))
	clock := time.Unix(0, 0)
	slow := func() time.Time { clock = clock.Add(time.Second); return clock }
	cases := []struct {
		name string
		opts Options
		data []byte
		want string
	}{
		{"depth", Options{MaxDepth: 8}, nested, "nesting deeper"},
		{"decoded bytes", Options{MaxDecodedBytes: 1 << 20}, bomb, "decoded bytes over"},
		{"corrupt gzip", Options{}, corrupt, "undecodable"},
		{"archive size", Options{MaxArchiveBytes: 100}, zipOf(map[string][]byte{"a.txt": bytes.Repeat(text, 100)}), "archive larger"},
		{"encrypted zip entry", Options{}, encZip, "encrypted"},
		{"time", Options{MaxDuration: 5 * time.Second, Now: slow}, bytes.Repeat(text, 100000), "scan time"},
		{"base64 run over budget", Options{MaxRunBytes: 8192, ChunkSize: 4096}, []byte("x=" + strings.Repeat("QUJD", 10000)), "encoded run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := scanAll(t, NewEngine(c.opts), c.data, Hints{})
			if !v.Incomplete {
				t.Fatalf("verdict complete: %+v", v)
			}
			if !strings.Contains(strings.Join(v.Reasons, "; "), c.want) {
				t.Errorf("reasons %q lack %q", v.Reasons, c.want)
			}
		})
	}
}
