package dlp

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pdfFile assembles a PDF: objs[i] is the body of object i+1. The
// cross-reference table is a stub, as the reader does not use it; empty
// bodies are left out.
func pdfFile(trailer string, objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	for i, o := range objs {
		if o == "" { // a number used inside an object stream
			continue
		}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n0000000015 00000 n \ntrailer\n%s\nstartxref\n0\n%%%%EOF\n", len(objs)+1, trailer)
	return b.Bytes()
}

func pdfStream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

func pdfFlate(dict string, data []byte) string {
	return pdfStream("/Filter /FlateDecode "+dict, zl(data))
}

// onePagePDF has one page whose resources, inherited from the page tree,
// name Helvetica /F1 and whatever extra resources say; content is the body
// of object 5.
func onePagePDF(content, extraResources string, more ...string) []byte {
	objs := append([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 4 0 R >> " + extraResources + " >> >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		content,
	}, more...)
	return pdfFile("<< /Root 1 0 R /Size 9 >>", objs...)
}

const pdfCard = "4539 1488 0343 6467"

// type0PDF writes text the way Chrome and LibreOffice do: a Type0 font
// whose two-byte glyph codes only mean something through its ToUnicode
// CMap (digits by a bfrange, letters by bfchar and an array bfrange).
func type0PDF(text string) []byte {
	glyph := map[rune]int{}
	var chars strings.Builder
	next := 0x0100
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			glyph[r] = 0x0010 + int(r-'0')
		case r == 'A' || r == 'B':
			glyph[r] = 0x0050 + int(r-'A')
		default:
			if _, ok := glyph[r]; !ok {
				glyph[r] = next
				fmt.Fprintf(&chars, "<%04X> <%04X>\n", next, r)
				next++
			}
		}
	}
	var hexText strings.Builder
	for _, r := range text {
		fmt.Fprintf(&hexText, "%04X ", glyph[r])
	}
	cmap := "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" +
		"2 beginbfrange\n<0010> <0019> <0030>\n<0050> <0051> [<0041> <0042>]\nendbfrange\n" +
		"4 beginbfchar\n" + chars.String() + "<0200> <D83DDE00>\nendbfchar\n" +
		"endcmap CMapName currentdict /CMap defineresource pop end end\n"
	content := "BT\n/C2_0 12 Tf\n72 700 Td\n<" + hexText.String() + "0200> Tj\nET\n"
	return pdfFile("<< /Root 1 0 R >>",
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /C2_0 4 0 R >> >> /Contents [5 0 R] >>",
		"<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Arial /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode 6 0 R >>",
		pdfFlate("", []byte(content)),
		pdfFlate("", []byte(cmap)),
		"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Arial /CIDToGIDMap /Identity >>",
	)
}

// objStmPDF keeps the catalog, page tree, page and font inside an object
// stream, as modern writers do; only the content stream is top-level.
func objStmPDF(content string) []byte {
	inner := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var header, body strings.Builder
	for i, o := range inner {
		fmt.Fprintf(&header, "%d %d ", i+1, body.Len())
		body.WriteString(o + "\n")
	}
	stm := header.String() + body.String()
	return pdfFile("<< /Root 1 0 R >>",
		"", "", "", "",
		pdfFlate("", []byte(content)),
		pdfFlate(fmt.Sprintf("/Type /ObjStm /N %d /First %d", len(inner), header.Len()), []byte(stm)),
		"<< /Type /XRef /W [1 2 1] /Filter /FlateDecode /DecodeParms << /Columns 4 /Predictor 12 >> /Length 3 >>\nstream\nxyz\nendstream",
	)
}

func TestPDF(t *testing.T) {
	tok := testToken
	cardText := "BT /F1 12 Tf 72 700 Td (card " + pdfCard + ") Tj ET"
	tj := "BT /F1 12 Tf 72 700 Td [(" + tok[:4] + ") -10 (" + tok[4:20] + ") 35 (" + tok[20:] + ")] TJ ET"
	escaped := `BT /F1 12 Tf (token\072 \(see\)\
 ) Tj 0 -14 Td (` + strings.ReplaceAll(tok, "_", `\137`) + `) ' ET`
	form := onePagePDF(pdfStream("", []byte("q /X1 Do Q")), "/XObject << /X1 6 0 R >>",
		pdfFlate("/Type /XObject /Subtype /Form /BBox [0 0 100 100]", []byte("BT /F1 9 Tf (card "+pdfCard+") Tj ET")))
	inlineImage := "BI /W 4 /H 1 /BPC 8 /CS /G ID \x00(\xff) EI Q BT /F1 12 Tf (" + tok + ") Tj ET"
	attachment := pdfFile("<< /Root 1 0 R >>",
		"<< /Type /Catalog /Names << /EmbeddedFiles << /Names [(a.docx) 2 0 R] >> >> >>",
		"<< /Type /Filespec /F (a.docx) /EF << /F 3 0 R >> >>",
		pdfFlate("/Subtype /application#2Fvnd.openxmlformats", docx(tok)))
	fields := pdfFile("<< /Root 1 0 R /Info 4 0 R >>",
		"<< /Type /Catalog /AcroForm << /Fields [2 0 R 3 0 R] >> >>",
		"<< /FT /Tx /T (name) /V <FEFF0041006400610020004C006F00760065006C006100630065> >>",
		"<< /FT /Tx /T (SSN) /TU (Social security number) /V (536-22-8726) >>",
		"<< /Title (Application) /Author (HR) >>")
	var upload bytes.Buffer
	mw := multipart.NewWriter(&upload)
	pw, _ := mw.CreateFormFile("doc", "a.pdf")
	_, _ = pw.Write(onePagePDF(pdfStream("", []byte("BT (hello) Tj ET")), ""))
	zw, _ := mw.CreateFormFile("more", "b.zip")
	_, _ = zw.Write(zipOf(map[string][]byte{"a.txt": []byte("token " + tok)}))
	_ = mw.Close()
	cases := []struct {
		name  string
		data  []byte
		entry string
		path  string
	}{
		{"multipart upload starting with a PDF", upload.Bytes(), "github_token", "multipart[1:b.zip]/zip:a.txt"},
		{"object that never ends", []byte("%PDF-1.7\n1 0 obj\n<< /A [\nmy token " + tok + "\n"), "github_token", "pdf:raw"},
		{"uncompressed content", onePagePDF(pdfStream("", []byte(cardText)), ""), "payment_card", "pdf:text"},
		{"flate content", onePagePDF(pdfFlate("", []byte(cardText)), ""), "payment_card", "pdf:text"},
		{"flate content in filter array", onePagePDF(pdfStream("/Filter [/FlateDecode]", zl([]byte(cardText))), ""), "payment_card", "pdf:text"},
		{"token split across TJ", onePagePDF(pdfFlate("", []byte(tj)), ""), "github_token", "pdf:text"},
		{"string escapes and quote operator", onePagePDF(pdfFlate("", []byte(escaped)), ""), "github_token", "pdf:text"},
		{"Type0 font with ToUnicode", type0PDF("card " + pdfCard + " AB"), "payment_card", "pdf:text"},
		{"object stream", objStmPDF(cardText), "payment_card", "pdf:text"},
		{"form XObject", form, "payment_card", "pdf:text"},
		{"inline image", onePagePDF(pdfStream("", []byte(inlineImage)), ""), "github_token", "pdf:text"},
		{"form field", fields, "us_ssn", "pdf:fields"},
		{"docx attachment", attachment, "github_token", "pdf:attachment/zip:word/document.xml"},
		{"metadata stream", onePagePDF(pdfStream("", nil), "", pdfFlate("/Type /Metadata /Subtype /XML", []byte("<x:xmpmeta><dc:description>"+tok+"</dc:description></x:xmpmeta>"))), "github_token", "pdf:streams"},
		{"text behind a PDF header", []byte("%PDF-1.4 is not a PDF\ntoken " + tok + "\n"), "github_token", "pdf:raw"},
		{"stream with a wrong /Length", bytes.Replace(onePagePDF(pdfStream("", []byte(cardText)), ""), []byte(fmt.Sprintf("/Length %d", len(cardText))), []byte("/Length 9999"), 1), "payment_card", "pdf:text"},
	}
	e := NewEngine(Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := scanAll(t, e, c.data, Hints{})
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

// TestPDFText checks the extracted text itself: spacing from TJ and Td,
// Latin-1 strings, and a ToUnicode map with a surrogate pair.
func TestPDFText(t *testing.T) {
	d := newPDFDoc(&scanner{o: Options{}.withDefaults()}, nil, 0)
	var out bytes.Buffer
	d.showText([]byte("BT (a) Tj 10 0 Td (b) Tj 0 -12 Td [(c) -300 (d) -20 (e)] TJ T* (\\351t\\351) Tj ET"), nil, &out, 0)
	if got, want := out.String(), "a b\nc de\nété"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	// Chrome places kerned runs with Td, Word gives every run its own
	// BT, Tm … ET: runs that touch are one word. Unknown fonts are taken
	// as half an em per character.
	for content, want := range map[string]string{
		"BT /F1 16 Tf 1 0 0 -1 8 114 Tm (T) Tj 8 0 Td (oken) Tj 40 0 Td (x) Tj ET":                                  "Token x",
		"BT 1 0 0 1 72 700 Tm /F1 10 Tf (ab) Tj ET BT 1 0 0 1 82 700 Tm (cd) Tj ET BT 1 0 0 1 72 680 Tm (ef) Tj ET": "abcd\nef",
	} {
		out.Reset()
		d.showText([]byte(content), nil, &out, 0)
		if out.String() != want {
			t.Errorf("%s: text %q, want %q", content, out.String(), want)
		}
	}
	data := type0PDF("Ab 12")
	d = newPDFDoc(&scanner{o: Options{}.withDefaults()}, nil, 0)
	d.parseObjects(data)
	var sink bytes.Buffer
	page, _ := d.objs[3].value.(pdfDict)
	for _, c := range d.contentStreams(page.get("Contents"), 0) {
		text, err := d.decodeStream(c)
		if err != nil {
			t.Fatal(err)
		}
		d.showText(text, d.pageResources(page), &sink, 0)
	}
	if got, want := sink.String(), "Ab 12😀"; got != want {
		t.Errorf("Type0 text %q, want %q", got, want)
	}
}

// TestPDFFailClosed: what the reader cannot decode makes the verdict
// incomplete, and hostile input neither panics nor hangs.
func TestPDFFailClosed(t *testing.T) {
	lzw := onePagePDF(pdfStream("/Filter /LZWDecode", []byte("\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01")), "")
	encrypted := pdfFile("<< /Root 1 0 R /Encrypt 6 0 R /ID [<0123> <4567>] >>",
		"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>")
	bomb := onePagePDF(pdfFlate("", bytes.Repeat([]byte("BT (a) Tj ET "), 200_000)), "")
	cases := []struct {
		name string
		opts Options
		data []byte
		want string
	}{
		{"LZW content stream", Options{}, lzw, "unsupported filter"},
		{"encrypted", Options{}, encrypted, "encrypted PDF"},
		{"decoded bytes", Options{MaxDecodedBytes: 1 << 20}, bomb, "decoded bytes over"},
		{"size", Options{MaxArchiveBytes: 100}, onePagePDF(pdfStream("", []byte("BT (x) Tj ET")), ""), "PDF larger than"},
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

	r := rand.New(rand.NewPCG(3, 5))
	junk := make([]byte, 64<<10)
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	hostile := map[string][]byte{
		"random bytes": append([]byte("%PDF-1.7\n"), junk...),
		"deep nesting": []byte("%PDF-1.7\n1 0 obj " + strings.Repeat("[<<", 100000) + " endobj"),
		"unterminated": []byte("%PDF-1.7\n1 0 obj << /Type /Page /Contents 2 0 R >> endobj 2 0 obj << /Length 5 >> stream\nBT (abc"),
		"self parent":  []byte("%PDF-1.7\n1 0 obj << /Type /Page /Parent 1 0 R /Contents 1 0 R >> endobj"),
		"huge bfrange": bytes.Replace(onePagePDF(pdfStream("", []byte("BT /F1 1 Tf (a) Tj ET")), "",
			pdfStream("", []byte(strings.Repeat("1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange ", 50)))),
			[]byte("/Encoding /WinAnsiEncoding"), []byte("/ToUnicode 6 0 R"), 1),
		"recursive forms":   onePagePDF(pdfStream("", []byte("/X Do /X Do")), "/XObject << /X 6 0 R >>", pdfStream("/Subtype /Form /Resources << /XObject << /X 6 0 R >> >>", []byte("/X Do /X Do (a) Tj"))),
		"many values":       []byte("%PDF-1.7\n1 0 obj [" + strings.Repeat("0 ", pdfMaxValues+10) + "] endobj"),
		"bad object stream": []byte("%PDF-1.7\n1 0 obj << /Type /ObjStm /N 99999999 /First 4 /Length 8 >> stream\n1 0 2 -5\nendstream endobj"),
	}
	for name, data := range hostile {
		t.Run(name, func(t *testing.T) {
			v := scanAll(t, NewEngine(Options{}), data, Hints{})
			reasons := strings.Join(v.Reasons, "; ")
			if name == "random bytes" && v.Incomplete {
				t.Errorf("incomplete %v", v.Reasons)
			}
			if name == "huge bfrange" && !strings.Contains(reasons, "ToUnicode map over") ||
				name == "many values" && !strings.Contains(reasons, "values in PDF objects") {
				t.Errorf("reasons %q", reasons)
			}
		})
	}
}

// TestInteropChromiumPDF prints a page with Chromium (headless, the browser the browser tests
// use; Type0 fonts with ToUnicode maps, as most PDFs in the wild) and scans the PDF: the card
// number, SSN and GitHub token on the page are found in its text.
func TestInteropChromiumPDF(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed (make deps installs it)")
		}
		t.Skip("chromium not installed; run make deps")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "export.html")
	html := `<html><body><h1>Payroll export</h1><p>Employee: Ada Lovelace, card 4539 1488 0343 6467, SSN 536-22-8726.</p>` +
		`<p style="font-family: monospace">deploy token ` + testToken + `</p></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "export.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+page)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := PredefinedProfile("all")
	v, err := NewEngine(Options{}).Scan(context.Background(), bytes.NewReader(pdf), p)
	if err != nil {
		t.Fatal(err)
	}
	if v.Incomplete {
		t.Errorf("incomplete: %v", v.Reasons)
	}
	for _, entry := range []string{"payment_card", "us_ssn", "github_token"} {
		f, ok := hasEntry(v, entry)
		if !ok {
			t.Errorf("%s not found in Chromium's PDF; findings %+v", entry, v.Findings)
			continue
		}
		if len(f.Path) == 0 || f.Path[0] != "pdf:text" {
			t.Errorf("%s found at %v, want in the page text", entry, f.Path)
		}
	}
}
