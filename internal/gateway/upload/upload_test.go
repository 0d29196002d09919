package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

func newScanner(t *testing.T, opts Options) *Scanner {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readAllClose(t *testing.T, b *Body) []byte {
	t.Helper()
	out, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProfileID(t *testing.T) {
	for in, want := range map[string]string{
		"PII": "pii", "Financial Information": "financial_information", "Credentials and Secrets": "credentials_and_secrets",
		"All Predefined": "all_predefined", "  Customer  DB (EDM)! ": "customer_db_edm", "---": "", "Ünïcode 2": "n_code_2",
	} {
		if got := ProfileID(in); got != want {
			t.Errorf("ProfileID(%q) = %q, want %q", in, got, want)
		}
	}
	s := newScanner(t, Options{})
	for _, id := range []string{"pii", "financial_information", "national_identifiers", "credentials_and_secrets", "source_code", "all_predefined"} {
		if !s.HasProfile(id) {
			t.Errorf("predefined profile %q missing; have %v", id, s.ProfileIDs())
		}
	}
}

func TestCustomProfiles(t *testing.T) {
	entry, err := dlp.NewWordListEntry("codename", []string{"bluebird"}, false)
	if err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, Options{Custom: []*dlp.Profile{dlp.NewProfile("Project Codenames", dlp.Low, 0, entry)}})
	res, body, err := s.Scan(t.Context(), io.NopCloser(strings.NewReader("status of Bluebird?")), Hints{}, []string{"project_codenames", "pii"})
	if err != nil {
		t.Fatal(err)
	}
	readAllClose(t, body)
	if !slices.Equal(res.MatchedProfiles, []string{"project_codenames"}) || res.Incomplete || len(res.Findings) == 0 {
		t.Fatalf("custom profile scan = %+v", res)
	}
	for _, bad := range [][]*dlp.Profile{
		{dlp.NewProfile("pii", dlp.Low, 0, entry)},
		{dlp.NewProfile("A b", dlp.Low, 0, entry), dlp.NewProfile("a-B", dlp.Low, 0, entry)},
		{dlp.NewProfile("%%%", dlp.Low, 0, entry)},
	} {
		if _, err := New(Options{Custom: bad}); err == nil {
			t.Errorf("New accepted colliding or empty profile ids %q", bad[0].Name)
		}
	}
	if _, err := New(Options{MaxBodyBytes: 10 << 20, MaxBufferedBytes: 1 << 20}); err == nil {
		t.Error("New accepted a buffer budget below one body")
	}
}

func TestScan(t *testing.T) {
	s := newScanner(t, Options{})
	ctx := t.Context()
	pii := "Customer: SSN 536-22-8726, call +1 415 555 0132"

	res, body, err := s.Scan(ctx, io.NopCloser(strings.NewReader(pii)), Hints{ContentType: "text/plain"}, []string{"pii", "credentials_and_secrets"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllClose(t, body); string(got) != pii {
		t.Fatalf("body replayed as %q", got)
	}
	if !slices.Equal(res.MatchedProfiles, []string{"pii"}) || res.Incomplete || res.Size != int64(len(pii)) || res.FileTypes != nil {
		t.Fatalf("PII scan = %+v", res)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Sample, "536-22-8726") {
			t.Errorf("finding sample %q is not redacted", f.Sample)
		}
	}

	// A multipart upload of a Word document holding a card number: file types and the match.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("purpose", "assistants")
	fw, _ := mw.CreateFormFile("file", "report.docx")
	fw.Write(docx(t, "Please charge 4532 0151 1283 0366 for the order."))
	fw2, _ := mw.CreateFormFile("attachment", "secret.zip")
	fw2.Write(zipOf(t, true, "keys.txt"))
	mw.Close()
	res, body, err = s.Scan(ctx, io.NopCloser(bytes.NewReader(mp.Bytes())), Hints{ContentType: mw.FormDataContentType()}, []string{"financial_information"})
	if err != nil {
		t.Fatal(err)
	}
	readAllClose(t, body)
	if !slices.Equal(res.MatchedProfiles, []string{"financial_information"}) {
		t.Errorf("docx in multipart: matched %v (%+v)", res.MatchedProfiles, res)
	}
	if !slices.Equal(res.FileTypes, []string{TypeDocx, TypeZip, TypeUnscannable}) {
		t.Errorf("docx in multipart: file types %v", res.FileTypes)
	}

	// No profiles asked: file types and size only.
	res, body, err = s.Scan(ctx, io.NopCloser(bytes.NewReader(pe(false))), Hints{}, nil)
	if err != nil || !slices.Equal(res.FileTypes, []string{TypeExe}) || res.MatchedProfiles != nil {
		t.Fatalf("exe upload = %+v, %v", res, err)
	}
	readAllClose(t, body)

	// An unknown profile is an error, and the body is still handed back whole.
	_, body, err = s.Scan(ctx, io.NopCloser(strings.NewReader("x")), Hints{}, []string{"nope"})
	if err == nil || string(readAllClose(t, body)) != "x" {
		t.Fatalf("unknown profile: %v", err)
	}
	// No body at all.
	res, body, err = s.Scan(ctx, http.NoBody, Hints{}, []string{"pii"})
	if err != nil || res.Size != 0 || res.Incomplete || len(readAllClose(t, body)) != 0 {
		t.Fatalf("no body: %+v %v", res, err)
	}
}

func docx(t *testing.T, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zipWriter(&buf)
	for name, content := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml":   `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>` + text + `</w:t></w:r></w:p></w:body></w:document>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScanTooLarge: a body over the limit is scanned as far as the limit, reported incomplete,
// and forwarded whole.
func TestScanTooLarge(t *testing.T) {
	s := newScanner(t, Options{MaxBodyBytes: 1024, MaxBufferedBytes: 4096})
	body := strings.Repeat("a", 900) + " SSN 536-22-8726 " + strings.Repeat("b", 5000)
	res, b, err := s.Scan(t.Context(), io.NopCloser(strings.NewReader(body)), Hints{}, []string{"pii"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllClose(t, b); string(got) != body {
		t.Fatalf("forwarded %d bytes, want the whole %d", len(got), len(body))
	}
	if !res.Incomplete || !slices.Contains(res.Reasons, ReasonTooLarge) || res.Size != 1024 || !slices.Equal(res.MatchedProfiles, []string{"pii"}) {
		t.Fatalf("too large = %+v; want incomplete, 1024 bytes scanned, the SSN in them found", res)
	}
}

// TestScanBufferBudget: bodies held at once never exceed the budget; a scan that would is
// incomplete (fail closed) and its body passes through unread; Close gives the budget back.
func TestScanBufferBudget(t *testing.T) {
	s := newScanner(t, Options{MaxBodyBytes: 1000, MaxBufferedBytes: 2000})
	var held []*Body
	for range 2 {
		res, b, err := s.Scan(t.Context(), io.NopCloser(strings.NewReader("hello")), Hints{}, []string{"pii"})
		if err != nil || res.Incomplete {
			t.Fatalf("within budget: %+v %v", res, err)
		}
		held = append(held, b)
	}
	res, b, err := s.Scan(t.Context(), io.NopCloser(strings.NewReader("third")), Hints{}, []string{"pii"})
	if err != nil || !res.Incomplete || !slices.Equal(res.Reasons, []string{ReasonBusy}) || string(readAllClose(t, b)) != "third" {
		t.Fatalf("over budget: %+v %v", res, err)
	}
	held[0].Close()
	held[0].Close() // twice gives back once
	res, b, err = s.Scan(t.Context(), io.NopCloser(strings.NewReader("fourth")), Hints{}, []string{"pii"})
	if err != nil || res.Incomplete {
		t.Fatalf("after a Close: %+v %v", res, err)
	}
	b.Close()
	res, b, _ = s.Scan(t.Context(), io.NopCloser(strings.NewReader("fifth")), Hints{}, nil)
	if res.Incomplete {
		t.Fatalf("a double Close gave the budget back twice or never: %+v", res)
	}
	b.Close()
	held[1].Close()
	if n := s.buffered.Load(); n != 0 {
		t.Fatalf("%d bytes still reserved after every body was closed", n)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), f.n)
	for i := range n {
		p[i] = 'z'
	}
	f.n -= n
	return n, nil
}

// TestScanReadError: a body that fails mid-way is incomplete, and the forwarded body fails too
// (the destination never sees a truncated body as complete).
func TestScanReadError(t *testing.T) {
	s := newScanner(t, Options{})
	res, b, err := s.Scan(t.Context(), io.NopCloser(&failingReader{n: 100}), Hints{}, []string{"pii"})
	if err != nil || !res.Incomplete || !slices.Equal(res.Reasons, []string{ReasonRead}) {
		t.Fatalf("read error: %+v %v", res, err)
	}
	got, err := io.ReadAll(b)
	if len(got) != 100 || err == nil {
		t.Fatalf("forwarded %d bytes and error %v; want the 100 read, then the error", len(got), err)
	}
	b.Close()
}

// TestScanReplaysExactly: whatever the size against the limit, the forwarded body is the body.
func TestScanReplaysExactly(t *testing.T) {
	s := newScanner(t, Options{MaxBodyBytes: 4096, MaxBufferedBytes: 8192})
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		body := make([]byte, r.IntN(3*4096))
		for i := range body {
			body[i] = byte(r.UintN(256))
		}
		_, b, err := s.Scan(context.Background(), io.NopCloser(bytes.NewReader(body)), Hints{}, []string{"credentials_and_secrets"})
		if err != nil {
			t.Fatal(err)
		}
		if got := readAllClose(t, b); !bytes.Equal(got, body) {
			t.Fatalf("%d-byte body forwarded as %d different bytes", len(body), len(got))
		}
	}
}

func TestScanCancelled(t *testing.T) {
	s := newScanner(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, b, err := s.Scan(ctx, io.NopCloser(strings.NewReader("SSN 536-22-8726")), Hints{}, []string{"pii"})
	if err == nil || !res.Incomplete {
		t.Fatalf("cancelled scan = %+v, %v; want an error and incomplete", res, err)
	}
	b.Close()
}
