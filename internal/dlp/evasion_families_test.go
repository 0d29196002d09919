package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// The families of issue 12 item 18: each evasion class as table cases with
// several variants. A case passes when the entry is found and the verdict
// is complete, or, for cases marked incomplete, when the verdict says so.

// genericValue is a high-entropy value that only the generic secret entry
// (keyword and entropy) reports.
const genericValue = "Xk9vQ2mT7pLr4sWz8bNc"

type evasionCase struct {
	name       string
	data       []byte
	hints      Hints
	entry      string
	incomplete bool   // the verdict must be incomplete (and the entry found unless entry is "")
	conf       string // minimum confidence of the finding, "" for any
}

func runEvasionCases(t *testing.T, cases []evasionCase) {
	t.Helper()
	e := NewEngine(Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := scanAll(t, e, c.data, c.hints)
			if c.entry != "" {
				f, ok := hasEntry(v, c.entry)
				if !ok {
					t.Fatalf("%s not found; verdict %+v", c.entry, v)
				}
				if c.conf != "" && f.Confidence.String() != c.conf {
					t.Errorf("confidence %s, want %s", f.Confidence, c.conf)
				}
				if !v.Match {
					t.Error("verdict does not match")
				}
			}
			if v.Incomplete != c.incomplete {
				t.Errorf("incomplete = %v (%v), want %v", v.Incomplete, v.Reasons, c.incomplete)
			}
		})
	}
}

func encodeWide(s string, w wideEncoding, bom bool) []byte {
	var out []byte
	put := func(u uint32) {
		var b [4]byte
		if w.unit == 2 {
			if w.big {
				binary.BigEndian.PutUint16(b[:], uint16(u))
			} else {
				binary.LittleEndian.PutUint16(b[:], uint16(u))
			}
		} else if w.big {
			binary.BigEndian.PutUint32(b[:], u)
		} else {
			binary.LittleEndian.PutUint32(b[:], u)
		}
		out = append(out, b[:w.unit]...)
	}
	if bom {
		put(0xFEFF)
	}
	for _, r := range s {
		if w.unit == 2 {
			for _, u := range utf16.Encode([]rune{r}) {
				put(uint32(u))
			}
		} else {
			put(uint32(r))
		}
	}
	return out
}

func TestEvasionUnicodeEncodings(t *testing.T) {
	tok := testToken
	env := "# settings\nDB_HOST=db.internal\nDB_PASSWORD=" + genericValue + "\n"
	cjk := strings.Repeat("这是一份关于季度报告的说明文件，请在会议前阅读。", 12) + "令牌" + tok + "。"
	var cases []evasionCase
	for _, w := range []wideEncoding{utf16LE, utf16BE, utf32LE, utf32BE} {
		for _, bom := range []bool{true, false} {
			tag := w.name
			if bom {
				tag += " BOM"
			}
			cases = append(cases,
				evasionCase{name: tag + " token", data: encodeWide("config: "+tok+"\n", w, bom), entry: "github_token"},
				evasionCase{name: tag + " .env", data: encodeWide(env, w, bom), entry: "generic_secret"},
				evasionCase{name: tag + " in base64", data: []byte(`{"script":"` + base64.StdEncoding.EncodeToString(encodeWide("token "+tok, w, bom)) + `"}`), entry: "github_token"},
				evasionCase{name: tag + " in gzip", data: gz(encodeWide("token "+tok, w, bom)), entry: "github_token"},
				evasionCase{name: tag + " CJK text", data: encodeWide(cjk, w, bom), entry: "github_token"},
				evasionCase{name: tag + " zero-width and full-width", data: encodeWide("token "+fullWidth(interleave(tok, "\u200b")), w, bom), entry: "github_token"},
				evasionCase{name: tag + " card", data: encodeWide("card 4539 1488 0343 6467 exp 12/29", w, bom), entry: "payment_card"},
			)
		}
	}
	le := encodeWide("config: "+tok+"\n", utf16LE, false)
	cases = append(cases,
		evasionCase{name: "PowerShell -EncodedCommand", data: []byte("powershell.exe -NoProfile -EncodedCommand " +
			base64.StdEncoding.EncodeToString(encodeWide(`$env:GH_TOKEN="`+tok+`"; gh auth status`, utf16LE, false))), entry: "github_token"},
		evasionCase{name: "odd trailing byte", data: append(append([]byte(nil), le...), 'x'), entry: "github_token"},
		evasionCase{name: "charset hint, no BOM", data: encodeWide(tok, utf16BE, false), hints: Hints{ContentType: "text/plain; charset=utf-16"}, entry: "github_token"},
		evasionCase{name: "charset utf-16le hint", data: encodeWide("x "+tok, utf16LE, false), hints: Hints{ContentType: "application/json; charset=UTF-16LE"}, entry: "github_token"},
		evasionCase{name: "UTF-16 text then an ASCII token", data: append(encodeWide(strings.Repeat("notes for the meeting ", 20), utf16LE, true), []byte(" "+tok)...), entry: "github_token"},
		evasionCase{name: "UTF-16 JSON split values", data: encodeWide(`{"a":"`+tok[:20]+`","b":"`+tok[20:]+`"}`, utf16LE, true), entry: "github_token"},
		evasionCase{name: "UTF-16 Cyrillic keyword", data: encodeWide("DB_PАSSWORD="+genericValue, utf16LE, false), entry: "generic_secret"},
	)
	runEvasionCases(t, cases)
}

// TestEvasionUnicodeLongStream: a UTF-16/32 stream much longer than a
// window, with tokens at every window boundary, is read whole.
func TestEvasionUnicodeLongStream(t *testing.T) {
	e := NewEngine(Options{ChunkSize: 4096})
	p, _ := PredefinedProfile("Credentials and Secrets")
	for _, w := range []wideEncoding{utf16LE, utf32BE} {
		var b strings.Builder
		for b.Len() < 40000 {
			b.WriteString("lorem ipsum dolor ")
		}
		text := b.String()
		for off := 900; off < 9000; off += 997 {
			text = text[:off] + " " + testToken + " " + text[off:]
		}
		data := encodeWide(text, w, false)
		for _, r := range []func([]byte) *bytes.Reader{bytes.NewReader} {
			v, err := e.Scan(t.Context(), r(data), p)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range v.Findings {
				if f.Entry == "github_token" {
					n++
				}
			}
			if n != 9 || v.Incomplete {
				t.Errorf("%s: %d tokens, incomplete %v (%v)", w.name, n, v.Incomplete, v.Reasons)
			}
		}
	}
}

func TestEvasionNestedEscapes(t *testing.T) {
	tok := testToken
	pct := func(s string, times int) string {
		for i := 0; i < times; i++ {
			s = percentAll(s)
		}
		return s
	}
	jsonDouble := `{"body":"{\"token\":\"` + strings.ReplaceAll(jsonEscapeAll(tok), `\`, `\\`) + `\"}"}`
	cases := []evasionCase{
		{name: "percent twice", data: []byte("q=" + pct(tok, 2)), entry: "github_token"},
		{name: "percent three times", data: []byte("q=" + pct(tok, 3)), entry: "github_token"},
		{name: "percent twice in prose", data: []byte("see the log line " + pct(tok, 2) + " for details"), entry: "github_token"},
		{name: "percent twice, only the underscore", data: []byte("u=ghp%255F" + tok[4:]), entry: "github_token"},
		{name: "percent of JSON escapes", data: []byte("q=" + url.QueryEscape(jsonEscapeAll(tok))), entry: "github_token"},
		{name: "JSON string in a JSON string", data: []byte(jsonDouble), entry: "github_token"},
		{name: "percent card twice", data: []byte("cc=" + pct("4539 1488 0343 6467", 2)), entry: "payment_card"},
		{name: "percent keyword twice", data: []byte(pct("DB_PASSWORD="+genericValue, 2)), entry: "generic_secret"},
		{name: "base64 of a twice percent-encoded token", data: []byte("x=" + base64.StdEncoding.EncodeToString([]byte(pct("tok "+tok, 2)))), entry: "github_token"},
		{name: "percent seven times", data: []byte("q=" + pct(tok, 7)), entry: "github_token"},
		{name: "percent beyond the depth budget", data: []byte("q=" + pct(tok, 10)), incomplete: true},
	}
	runEvasionCases(t, cases)
}

// wrap breaks s into lines of width w joined by nl, each continuation line
// prefixed with indent.
func wrap(s string, w int, nl, indent string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += w {
		if i > 0 {
			b.WriteString(nl + indent)
		}
		b.WriteString(s[i:min(len(s), i+w)])
	}
	return b.String()
}

func TestEvasionWrappedBase64(t *testing.T) {
	tok := testToken
	payload := "# deployment settings for the staging cluster\ngithub: " + tok + "\n"
	b64 := base64.StdEncoding.EncodeToString([]byte(payload))
	cases := []evasionCase{
		{name: "MIME 76 LF", data: []byte("data:\n" + wrap(b64, 76, "\n", "") + "\n"), entry: "github_token"},
		{name: "MIME 76 CRLF", data: []byte("Content-Type: text/plain\r\n\r\n" + wrap(b64, 76, "\r\n", "") + "\r\n"), entry: "github_token"},
		{name: "PEM 64", data: []byte(wrap(b64, 64, "\n", "")), entry: "github_token"},
		{name: "width 50", data: []byte("blob " + wrap(b64, 50, "\n", "") + "\n.\n"), entry: "github_token"},
		{name: "YAML block, indented", data: []byte("settings: |\n  " + wrap(b64, 60, "\n", "  ") + "\nnext: 1\n"), entry: "github_token"},
		{name: "JSON with \\n escapes", data: []byte(`{"blob":"` + wrap(b64, 76, `\n`, "") + `"}`), entry: "github_token"},
		{name: "hex wrapped at 64", data: []byte("dump:\n" + wrap(hex.EncodeToString([]byte(payload)), 64, "\n", "") + "\n"), entry: "github_token"},
		{name: "gzip in wrapped base64", data: []byte("attachment:\n" + wrap(base64.StdEncoding.EncodeToString(gz([]byte(payload))), 76, "\r\n", "") + "\r\n"), entry: "github_token"},
		{name: "base64url wrapped", data: []byte(wrap(base64.RawURLEncoding.EncodeToString([]byte(payload)), 40, "\n", "")), entry: "github_token"},
	}
	runEvasionCases(t, cases)

	// Every position of the line break relative to the token, at several widths.
	e := NewEngine(Options{})
	for _, w := range []int{21, 64, 76} {
		for shift := 0; shift < 40; shift++ {
			text := strings.Repeat("x", shift) + " " + tok + " end"
			data := []byte("v:\n" + wrap(base64.StdEncoding.EncodeToString([]byte(text)), w, "\n", "") + "\n")
			v := scanAll(t, e, data, Hints{})
			if _, ok := hasEntry(v, "github_token"); !ok || v.Incomplete {
				t.Fatalf("width %d shift %d: not found or incomplete: %+v", w, shift, v)
			}
		}
	}
}

// TestWrappedRunsOfUnrelatedLines: hashes and IDs one per line, far more
// than a window, are neither joined into one run nor reported incomplete.
func TestWrappedRunsOfUnrelatedLines(t *testing.T) {
	g := newGen(3)
	var b strings.Builder
	for b.Len() < 600<<10 {
		switch g.r.IntN(3) {
		case 0:
			b.WriteString(g.str("0123456789abcdef", 64))
		case 1:
			b.WriteString(g.str("0123456789abcdef", 8) + "-" + g.str("0123456789abcdef", 4) + "-4" + g.str("0123456789abcdef", 3) + "-a" + g.str("0123456789abcdef", 3) + "-" + g.str("0123456789abcdef", 12))
		default:
			b.WriteString(g.str(b64set, 43))
		}
		b.WriteString("\n")
	}
	v := scanAll(t, NewEngine(Options{ChunkSize: 64 << 10, MaxRunBytes: 128 << 10}), []byte(b.String()), Hints{})
	if v.Incomplete {
		t.Fatalf("list of hashes: incomplete %v", v.Reasons)
	}
	for _, f := range v.Findings {
		if len(f.Path) > 0 {
			t.Errorf("finding in a decoded run of unrelated lines: %+v", f)
		}
	}
}

func TestEvasionConfusables(t *testing.T) {
	tok := testToken
	routing := "021000021" // a valid ABA routing number: Low confidence without a keyword
	cases := []evasionCase{
		{name: "Cyrillic А in DB_PASSWORD", data: []byte("DB_PАSSWORD=" + genericValue), entry: "generic_secret"},
		{name: "Cyrillic а and о in password", data: []byte("pаsswоrd: " + genericValue), entry: "generic_secret"},
		{name: "Cyrillic е in secret", data: []byte(`"client_sеcrеt": "` + genericValue + `"`), entry: "generic_secret"},
		{name: "Cyrillic к in token", data: []byte("auth_tокеn = " + genericValue), entry: "generic_secret"},
		{name: "Greek Ο and Κ in TOKEN", data: []byte("API_TΟΚEN=" + genericValue), entry: "generic_secret"},
		{name: "Greek ι in api_key", data: []byte("apι_key: " + genericValue), entry: "generic_secret"},
		{name: "Cherokee and Latin ɑ", data: []byte("ᏚECRET_KEY=" + genericValue + "\npɑssword=" + genericValue), entry: "generic_secret"},
		{name: "full-width keyword", data: []byte(fullWidth("PASSWORD") + "=" + genericValue), entry: "generic_secret"},
		{name: "mathematical bold keyword", data: []byte("𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝=" + genericValue), entry: "generic_secret"},
		{name: "Cyrillic keyword with zero-width joiners", data: []byte("DB_P\u200dАSS\u200bWORD=" + genericValue), entry: "generic_secret"},
		{name: "Cyrillic AWS keyword", data: []byte("аws_sеcrеt_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEX"), entry: ""},
		{name: "Cyrillic р in a token prefix", data: []byte("token ghр_" + tok[4:]), entry: "github_token"},
		{name: "Cyrillic proximity keyword", data: []byte("rоuting numbеr " + routing), entry: "us_aba_routing", conf: "high"},
		{name: "Greek proximity keyword", data: []byte("ΒΑΝΚ " + routing), entry: "us_aba_routing", conf: "high"},
		{name: "Arabic-Indic digits card", data: []byte("البطاقة ٤٥٣٩ ١٤٨٨ ٠٣٤٣ ٦٤٦٧"), entry: "payment_card"},
		{name: "Devanagari digits SSN", data: []byte("SSN ५२३-४५-६७८९"), entry: "us_ssn"},
		{name: "percent-encoded Cyrillic keyword", data: []byte("DB_P%D0%90SSWORD=" + genericValue), entry: "generic_secret"},
	}
	runEvasionCases(t, cases[:10])
	runEvasionCases(t, cases[11:])
}

func TestEvasionSplitValues(t *testing.T) {
	tok := testToken
	card := "4539148803436467"
	var mpBuf bytes.Buffer
	mw := multipart.NewWriter(&mpBuf)
	_ = mw.WriteField("note", "hello")
	_ = mw.WriteField("part1", tok[:17])
	_ = mw.WriteField("part2", tok[17:])
	_ = mw.Close()
	var mp4 bytes.Buffer
	mw4 := multipart.NewWriter(&mp4)
	for i := 0; i < 4; i++ {
		_ = mw4.WriteField("cc"+strconv.Itoa(i+1), card[4*i:4*i+4])
	}
	_ = mw4.Close()
	cases := []evasionCase{
		{name: "JSON object", data: []byte(`{"a":"` + tok[:10] + `","b":"` + tok[10:] + `"}`), entry: "github_token"},
		{name: "JSON object, pretty", data: []byte("{\n  \"first\": \"" + tok[:25] + "\",\n  \"second\": \"" + tok[25:] + "\"\n}\n"), entry: "github_token"},
		{name: "JSON array of three", data: []byte(`["` + tok[:8] + `", "` + tok[8:30] + `", "` + tok[30:] + `"]`), entry: "github_token"},
		{name: "JavaScript concatenation", data: []byte(`const t = "` + tok[:20] + `" + "` + tok[20:] + `";`), entry: "github_token"},
		{name: "JSON with escapes in a piece", data: []byte(`{"a":"` + jsonEscapeAll(tok[:12]) + `","b":"` + tok[12:] + `"}`), entry: "github_token"},
		{name: "form fields", data: []byte("a=" + tok[:15] + "&b=" + tok[15:] + "&submit=1"), entry: "github_token"},
		{name: "form fields, percent-encoded", data: []byte("a=" + percentAll(tok[:15]) + "&b=" + url.QueryEscape(tok[15:])), entry: "github_token"},
		{name: "query string", data: []byte("GET https://api.example.net/v1?x=" + tok[:22] + "&y=" + tok[22:] + " HTTP/1.1"), entry: "github_token"},
		{name: "card in four form fields", data: []byte("cc1=4539&cc2=1488&cc3=0343&cc4=6467&exp=1229"), entry: "payment_card"},
		{name: "card in four JSON values", data: []byte(`{"cc1":"4539","cc2":"1488","cc3":"0343","cc4":"6467"}`), entry: "payment_card"},
		{name: "generic secret keyword and value in two fields", data: []byte(`{"k":"DB_PASSWORD=","v":"` + genericValue + `"}`), entry: "generic_secret"},
		{name: "multipart fields", data: mpBuf.Bytes(), hints: Hints{ContentType: mw.FormDataContentType()}, entry: "github_token"},
		{name: "multipart card in four fields", data: mp4.Bytes(), hints: Hints{ContentType: mw4.FormDataContentType()}, entry: "payment_card"},
		{name: "JSON values in base64", data: []byte("x=" + base64.StdEncoding.EncodeToString([]byte(`{"a":"`+tok[:10]+`","b":"`+tok[10:]+`"}`))), entry: "github_token"},
	}
	runEvasionCases(t, cases)
}

// TestSplitValuesNoDuplicates: a value found whole in one field is reported
// once, even when the field before it could extend it.
func TestSplitValuesNoDuplicates(t *testing.T) {
	e := NewEngine(Options{})
	for _, data := range []string{
		`{"name":"john","email":"john.smith@acme.io","phone":"+44 20 7946 0958"}`,
		"first=john&email=john.smith%40acme.io&token=" + testToken,
		`["ab12", "` + testToken + `", "cd"]`,
	} {
		v := scanAll(t, e, []byte(data), Hints{})
		seen := map[string]int{}
		for _, f := range v.Findings {
			seen[f.Entry]++
		}
		for entry, n := range seen {
			if n > 1 {
				t.Errorf("%s: %s reported %d times: %+v", data, entry, n, v.Findings)
			}
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("first", "john")
	_ = mw.WriteField("email", "john.smith@acme.io")
	_ = mw.WriteField("token", testToken)
	_ = mw.Close()
	v := scanAll(t, e, buf.Bytes(), Hints{ContentType: mw.FormDataContentType()})
	if v.MatchCount != 2 {
		t.Errorf("multipart: %d findings, want e-mail and token once each: %+v", v.MatchCount, v.Findings)
	}
}

func TestEvasionContentEncodings(t *testing.T) {
	tok := testToken
	text := []byte("config: " + tok + "\n")
	mp, mpType := multipartBody(tok)
	cases := []evasionCase{
		{name: "gzip, br", data: br(gz(text)), hints: Hints{ContentEncoding: "gzip, br"}, entry: "github_token"},
		{name: "gzip,br no space", data: br(gz(text)), hints: Hints{ContentEncoding: "gzip,br"}, entry: "github_token"},
		{name: "br, gzip", data: gz(br(text)), hints: Hints{ContentEncoding: "br, gzip"}, entry: "github_token"},
		{name: "deflate, br", data: br(zl(text)), hints: Hints{ContentEncoding: "deflate, br"}, entry: "github_token"},
		{name: "raw deflate declared", data: rawDeflate(text), hints: Hints{ContentEncoding: "deflate"}, entry: "github_token"},
		{name: "zstd, br, gzip", data: gz(br(zs(text))), hints: Hints{ContentEncoding: "zstd, br, gzip"}, entry: "github_token"},
		{name: "upper case and x-gzip", data: gz(text), hints: Hints{ContentEncoding: "X-GZIP"}, entry: "github_token"},
		{name: "identity", data: text, hints: Hints{ContentEncoding: "identity"}, entry: "github_token"},
		{name: "gzip of multipart keeps the content type", data: gz(mp), hints: Hints{ContentEncoding: "gzip", ContentType: mpType}, entry: "github_token"},
		{name: "empty gzip body", data: nil, hints: Hints{ContentEncoding: "gzip"}},
		{name: "declared gzip, plain text", data: text, hints: Hints{ContentEncoding: "gzip"}, entry: "github_token", incomplete: true},
		{name: "declared br, plain text", data: text, hints: Hints{ContentEncoding: "br"}, entry: "github_token", incomplete: true},
		{name: "declared zstd, gzip body", data: gz(text), hints: Hints{ContentEncoding: "zstd"}, entry: "github_token", incomplete: true},
		{name: "declared deflate, plain text", data: text, hints: Hints{ContentEncoding: "deflate"}, entry: "github_token", incomplete: true},
		{name: "declared gzip, br; body only gzip", data: gz(text), hints: Hints{ContentEncoding: "gzip, br"}, entry: "github_token", incomplete: true},
		{name: "declared br, gzip; body only gzip", data: gz(text), hints: Hints{ContentEncoding: "br, gzip"}, entry: "github_token", incomplete: true},
		{name: "declared gzip, random binary", data: bytes.Repeat([]byte{0x93, 0x11, 0xfe, 0x00, 0x42}, 50), hints: Hints{ContentEncoding: "gzip"}, incomplete: true},
		{name: "unsupported compress", data: text, hints: Hints{ContentEncoding: "compress"}, entry: "github_token", incomplete: true},
		{name: "truncated declared gzip", data: gz(bytes.Repeat(text, 500))[:300], hints: Hints{ContentEncoding: "gzip"}, entry: "github_token", incomplete: true},
	}
	runEvasionCases(t, cases)
}

// TestWideSniffRejectsBinary: random binary of any length, and binary with
// the structure of real formats (NUL padding, little-endian integers,
// embedded ASCII strings), is never read as UTF-16 or UTF-32, so ASCII
// strings inside binary stay visible as they are.
func TestWideSniffRejectsBinary(t *testing.T) {
	g := newGen(11)
	for i := 0; i < 10000; i++ {
		n := 16 + g.r.IntN(4096-16)
		b := []byte(g.str(string(func() []byte {
			a := make([]byte, 256)
			for k := range a {
				a[k] = byte(k)
			}
			return a
		}()), n))
		if bytes.HasPrefix(b, []byte{0xFE, 0xFF}) || bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}) {
			continue // a byte order mark: see below
		}
		if w := sniffUnicode(b, i%2 == 0); w.unit != 0 {
			t.Fatalf("random %d bytes sniffed as %s", n, w.name)
		}
		// Behind a byte order mark, random data is still refused once it
		// is long enough to tell.
		for _, bom := range [][]byte{{0xFF, 0xFE}, {0xFE, 0xFF}, {0xFF, 0xFE, 0, 0}, {0, 0, 0xFE, 0xFF}} {
			if n < 256 {
				break
			}
			if w := sniffUnicode(append(append([]byte(nil), bom...), b...), false); w.unit != 0 {
				t.Fatalf("random %d bytes behind BOM %x sniffed as %s", n, bom, w.name)
			}
		}
	}
	// Little-endian integer tables with ASCII strings between them.
	var bin bytes.Buffer
	for i := 0; i < 400; i++ {
		_ = binary.Write(&bin, binary.LittleEndian, uint32(g.r.IntN(70000)))
		_ = binary.Write(&bin, binary.LittleEndian, uint16(g.r.IntN(300)))
		if i%40 == 0 {
			bin.WriteString("libc.so.6\x00GLIBC_2.34\x00")
		}
	}
	if w := sniffUnicode(bin.Bytes(), true); w.unit != 0 {
		t.Fatalf("integer table sniffed as %s", w.name)
	}
	data := append(bin.Bytes(), []byte("\x00\x00token="+testToken+"\x00\x00")...)
	v := scanAll(t, NewEngine(Options{}), data, Hints{})
	if _, ok := hasEntry(v, "github_token"); !ok || v.Incomplete {
		t.Fatalf("ASCII token in binary: %+v", v)
	}
	// Text that is not UTF-16: Latin-1, UTF-8 with NULs.
	for _, s := range []string{"caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve fa\xe7ade " + testToken, "key\x00value\x00" + testToken + "\x00"} {
		if w := sniffUnicode([]byte(s), true); w.unit != 0 {
			t.Errorf("%q sniffed as %s", s, w.name)
		}
	}
}

func TestDigitFold(t *testing.T) {
	n := 0
	forDigits(func(r rune, d byte) {
		n++
		// Where NFKC or the Unicode digit tables give a value, it agrees.
		if s := foldString(string(r)); r >= 0x80 && s != string(rune('0'+d)) {
			t.Fatalf("%U folds to %q, want %d", r, s, d)
		}
	})
	if n < 600 || n%10 != 0 {
		t.Fatalf("%d decimal digits: not whole runs of ten", n)
	}
	for in, want := range map[string]string{"٤٥٣٩": "4539", "५२३": "523", "𝟗𝟖": "98", "໓": "3", "᱕": "5"} {
		got := foldString(string(normalizeView(&view{text: []byte(in)}).text))
		if got != want {
			t.Errorf("%q folds to %q, want %q", in, got, want)
		}
	}
}

func TestConfusablesTable(t *testing.T) {
	for in, want := range map[string]string{
		"DB_PАSSWORD": "DB_PASSWORD", "ΤΟΚΕΝ": "TOKEN", "рассword": "paccword", "ѕесrеt": "secret", "tокеn": "token",
		"СLІЕNТ": "CLIENT", "ɑpi": "api", "ꓚꓲꓰꓠ": "CIEN", "日本語": "日本語", "naïve": "naïve",
	} {
		if got := foldString(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	for r, c := range confusableASCII {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') || r < 0x80 {
			t.Errorf("%U → %q: not a non-ASCII character folding to a letter or digit", r, c)
		}
	}
	// Every keyword and trigger compiles to itself: they are ASCII, or fold
	// consistently with the text.
	for _, e := range predefinedEntries {
		for _, k := range e.Keywords {
			if fk := foldString(k); fk != k && isASCII([]byte(k)) {
				t.Errorf("%s keyword %q folds to %q", e.ID, k, fk)
			}
		}
	}
	_ = fmt.Sprint
}
