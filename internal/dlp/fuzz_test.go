package dlp

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// fuzzEngine has small budgets so every fuzz input finishes quickly; the
// property is: no panic, and offsets of top-level findings lie inside the
// input.
var fuzzEngine = NewEngine(Options{MaxDecodedBytes: 1 << 20, MaxArchiveBytes: 1 << 20, ChunkSize: 4096, MaxRunBytes: 1 << 16})

func fuzzScan(t *testing.T, data []byte, h Hints) {
	p, _ := PredefinedProfile("all")
	v, err := fuzzEngine.ScanHints(context.Background(), bytes.NewReader(data), p, h)
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

// FuzzViews checks the normalising and unescaping views keep a monotone map
// back to the input.
func FuzzViews(f *testing.F) {
	seedAll(f, []byte("４１１１\u200b%2B\\u00e9+1+2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := &view{text: b}
		for _, v := range []*view{normalizeView(raw), unescapeView(raw), normalizeView(unescapeView(normalizeView(raw)))} {
			last := 0
			for i := 0; i <= len(v.text); i++ {
				p := v.rawPos(i)
				if p < last || p > len(b) {
					t.Fatalf("map not monotone at %d: %d after %d (len %d)", i, p, last, len(b))
				}
				last = p
			}
		}
		for _, r := range findRuns(raw) {
			_ = decodeBase64Loose(raw.text[r.start:r.end])
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
