package dlp

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
)

// fuzzEngine has small budgets so every fuzz input finishes quickly; the
// property is: no panic, and offsets of top-level findings lie inside the
// input.
var fuzzEngine = NewEngine(Options{MaxDecodedBytes: 1 << 20, MaxArchiveBytes: 1 << 20, ChunkSize: 4096, MaxRunBytes: 1 << 16})

// fuzzProfile is compiled once: a profile is safe for concurrent scans,
// and compiling its plan per input would dominate the fuzzers' time.
var fuzzProfile, _ = PredefinedProfile("all")

func fuzzScan(t *testing.T, data []byte, h Hints) {
	v, err := fuzzEngine.ScanHints(context.Background(), bytes.NewReader(data), fuzzProfile, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range v.Findings {
		if len(f.Path) == 0 && (f.Start < 0 || f.End > int64(len(data)) || f.Start > f.End) {
			t.Fatalf("finding %+v outside input of %d bytes", f, len(data))
		}
	}
}

func seedAll(f *testing.F, extra ...[]byte) {
	tok := []byte("token " + testToken)
	for _, s := range [][]byte{tok, gz(tok), zl(tok), zs(tok), br(tok), rawDeflate(tok), docx(testToken), xlsx(testToken),
		[]byte(base64.StdEncoding.EncodeToString(gz(tok))), []byte("q=%41%4B%49%41"), []byte(`"\u0067hp_\ud83d\ude00"`)} {
		f.Add(s)
	}
	for _, s := range extra {
		f.Add(s)
	}
}

func FuzzScanText(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, b, Hints{}) })
}

func FuzzGzip(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, append([]byte{0x1f, 0x8b}, b...), Hints{}) })
}

func FuzzZstd(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, append([]byte{0x28, 0xb5, 0x2f, 0xfd}, b...), Hints{}) })
}

func FuzzBrotli(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, b, Hints{ContentEncoding: "br"}) })
}

func FuzzDeflate(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzScan(t, b, Hints{ContentEncoding: "deflate"})
		fuzzScan(t, append([]byte{0x78, 0x9c}, b...), Hints{})
	})
}

func FuzzZip(f *testing.F) {
	seedAll(f, zipOf(map[string][]byte{"a.zip": docx(testToken)}))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, append([]byte("PK\x03\x04"), b...), Hints{}) })
}

func FuzzPDF(f *testing.F) {
	seedAll(f, onePagePDF(pdfFlate("", []byte("BT /F1 12 Tf 72 700 Td [(card 4539) -300 (1488 0343 6467)] TJ ET")), ""),
		type0PDF("token "+testToken), objStmPDF("BT /F1 9 Tf ("+testToken+") Tj ET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) {
			b = append([]byte("%PDF-1.7\n"), b...)
		}
		fuzzScan(t, b, Hints{})
	})
}

func FuzzMultipart(f *testing.F) {
	mp, ct := multipartBody(testToken)
	seedAll(f, mp)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzScan(t, b, Hints{ContentType: ct}) })
}

// FuzzViews checks the normalising, unescaping, folding, UTF-16/32 and
// joined-values views keep a monotone map back to the input, that joined
// views' bounds lie inside them, and that runs (plain, wrapped, percent)
// decode without panicking.
func FuzzViews(f *testing.F) {
	seedAll(f, []byte("４１１１\u200b%2B\\u00e9+1+2"), []byte("DB_PАSSWORD=x ٤٥٣٩ ΤΟΚΕΝ"),
		[]byte(`{"a":"ghp_x","b":"yz"} ["p","q"] "{\"k\":\"v\",\"w\":\"x\"}" a=1&b=2&c=3`),
		[]byte("v:\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldY\r\n  WVphYmNk\nZWZn\n"), encodeWide("ab\u00e9\U0001F600", utf16LE, true),
		[]byte("q=%1F%8B%08%00%00%00%00%00%00%03%2B%C9%CF%4E%CD%03%00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := &view{text: b}
		monotone := func(v *view) {
			last := 0
			for i := 0; i <= len(v.text); i++ {
				p := v.rawPos(i)
				if p < last || p > len(b) {
					t.Fatalf("map not monotone at %d: %d after %d (len %d)", i, p, last, len(b))
				}
				last = p
			}
		}
		views := []*view{normalizeView(raw), unescapeView(raw), normalizeView(unescapeView(normalizeView(raw)))}
		if fv := foldView(normalizeView(raw)); fv != nil {
			views = append(views, fv)
		}
		for _, w := range []wideEncoding{utf16LE, utf16BE, utf32LE, utf32BE} {
			for first := 0; first < w.unit; first++ {
				if wv := wideView(raw, w, first); wv != nil {
					views = append(views, wv, normalizeView(wv))
				}
			}
		}
		for _, j := range joinValues(raw) {
			for _, k := range j.bounds {
				if k <= 0 || k >= len(j.v.text) {
					t.Fatalf("bound %d outside joined text of %d bytes", k, len(j.v.text))
				}
			}
			views = append(views, j.v)
		}
		for _, v := range views {
			monotone(v)
			for _, r := range append(findRuns(v), findPercentRuns(v)...) {
				if r.start < 0 || r.end > len(v.text) || r.start > r.end {
					t.Fatalf("run %d-%d outside %d bytes", r.start, r.end, len(v.text))
				}
				_ = r.resolve()
				_, _ = r.waitFrom(len(b))
			}
		}
		_ = sniffUnicode(b, true)
		_ = sniffUnicode(b, false)
	})
}

// FuzzWideText: any input is sniffed and scanned without panicking, and
// UTF-16/UTF-32 text with a byte order mark is always recognised as what
// it is.
func FuzzWideText(f *testing.F) {
	for _, w := range []wideEncoding{utf16LE, utf16BE, utf32LE, utf32BE} {
		f.Add(encodeWide("config: "+testToken+"\n", w, false), uint8(0))
		f.Add(encodeWide("这是一份说明文件 令牌"+testToken, w, true), uint8(1))
	}
	f.Add([]byte("\xff\xfe\x00\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, sel uint8) {
		fuzzScan(t, b, Hints{})
		fuzzScan(t, b, Hints{ContentType: "text/plain; charset=utf-16"})
		s := strings.ToValidUTF8(string(b), "")
		if len(s) == 0 || strings.IndexFunc(s, func(r rune) bool {
			return !unicode.IsGraphic(r) && r != '\t' && r != '\n' && r != '\r'
		}) >= 0 {
			return // the property is about text of printable characters
		}
		w := []wideEncoding{utf16LE, utf16BE, utf32LE, utf32BE}[sel%4]
		if got := sniffUnicode(encodeWide(s, w, true), true); got != w.withBOM() {
			t.Fatalf("%q in %s with BOM sniffed as %+v", s, w.name, got)
		}
	})
}

// FuzzContentEncoding: any body under any declared Content-Encoding is
// scanned without panicking, and a declared coding that is not supported
// makes the verdict incomplete.
func FuzzContentEncoding(f *testing.F) {
	text := []byte("config: " + testToken + "\n")
	for _, s := range []struct {
		body []byte
		ce   string
	}{{br(gz(text)), "gzip, br"}, {gz(br(text)), "br, gzip"}, {text, "gzip"}, {text, "compress"}, {rawDeflate(text), "deflate"},
		{gz(br(zs(text))), "zstd, br, gzip"}, {text, "identity"}, {gz(text), "X-GZIP"}} {
		f.Add(s.body, s.ce)
	}
	known := map[string]bool{"gzip": true, "deflate": true, "br": true, "zstd": true}
	f.Fuzz(func(t *testing.T, b []byte, ce string) {
		fuzzScan(t, b, Hints{ContentEncoding: ce})
		codings := contentCodings(ce)
		if len(codings) == 0 || len(b) == 0 || known[codings[len(codings)-1]] {
			return
		}
		v, err := fuzzEngine.ScanHints(context.Background(), bytes.NewReader(b), fuzzProfile, Hints{ContentEncoding: ce})
		if err != nil {
			t.Fatal(err)
		}
		if !v.Incomplete {
			t.Fatalf("unsupported coding %q: verdict complete", codings[len(codings)-1])
		}
	})
}

// FuzzLoadProfiles: any profiles file either loads into usable profiles or
// fails with an error; it never panics.
func FuzzLoadProfiles(f *testing.F) {
	f.Add([]byte(testProfilesYAML))
	f.Add([]byte("profiles: [{name: x, entries: [{predefined: jwt}]}]"))
	f.Add([]byte("profiles: [{name: x, entries: [{id: a, pattern: {regex: '(a{1,1000}){1,1000}'}}]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := LoadProfiles(bytes.NewReader(b), t.TempDir())
		if err != nil {
			return
		}
		for _, p := range ps {
			if _, err := NewEngine(Options{}).Scan(context.Background(), strings.NewReader("PRJ-123456 bluebird 4539 1488 0343 6467"), p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDatasetFile: hashed dataset files are parsed or refused, never
// panicking.
func FuzzDatasetFile(f *testing.F) {
	d, _ := NewDataset(strings.NewReader("name,ssn\nAda Lovelace,123-45-6789\n"), bytes.Repeat([]byte{7}, 32))
	var buf bytes.Buffer
	_ = d.WriteFile(&buf, false)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"gatehouse-edm-v1","salt":"AAAAAAAAAAAAAAAAAAAAAA==","max_words":1,"min_len":6,"columns":{"a":["zz"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseDataset(b, "")
	})
}
