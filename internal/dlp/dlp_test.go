package dlp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"luhn ok", luhn([]byte("4539148803436467")), true},
		{"luhn bad", luhn([]byte("4539148803436468")), false},
		{"brand visa", cardBrand([]byte("4539148803436467")) == "visa", true},
		{"brand mc 2-series", cardBrand([]byte("2221000000000009")) == "mastercard", true},
		{"brand amex", cardBrand([]byte("378282246310005")) == "amex", true},
		{"brand none", cardBrand([]byte("1234567812345670")) == "", true},
		{"ssn ok", ssnValid([]byte("536221234")), true},
		{"ssn area 000", ssnValid([]byte("000221234")), false},
		{"ssn area 666", ssnValid([]byte("666221234")), false},
		{"ssn area 9xx", ssnValid([]byte("912221234")), false},
		{"ssn group 00", ssnValid([]byte("536001234")), false},
		{"ssn serial 0000", ssnValid([]byte("536220000")), false},
		{"aba ok", abaValid([]byte("011000015")), true},
		{"aba checksum", abaValid([]byte("011000016")), false},
		{"aba prefix", abaValid([]byte("501000019")), false},
		{"iban DE", ibanValid("DE89370400440532013000"), true},
		{"iban GB", ibanValid("GB82WEST12345698765432"), true},
		{"iban bad check", ibanValid("DE88370400440532013000"), false},
		{"iban bad length", ibanValid("DE8937040044053201300"), false},
		{"nino ok", ninoValid("AB123456C"), true},
		{"nino prefix GB", ninoValid("GB123456C"), false},
		{"nino first D", ninoValid("DA123456C"), false},
		{"nino second O", ninoValid("AO123456C"), false},
		{"nino suffix E", ninoValid("AB123456E"), false},
		{"sin ok", sinValid([]byte("130692544")), true},
		{"sin first 8", sinValid([]byte("830692544")), false},
		{"github checksum", tokenChecksumValid(testToken), true},
		{"github checksum bad", tokenChecksumValid(testToken[:39] + "x"), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v want %v", c.name, c.got, c.want)
		}
	}
}

func TestDocumentationExamples(t *testing.T) {
	e := NewEngine(Options{})
	p, _ := PredefinedProfile("all")
	for _, s := range []string{"AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"card 4111 1111 1111 1111", "SSN 078-05-1120", "mail jane@example.com",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"} {
		v, _ := e.Scan(context.Background(), strings.NewReader(s), p)
		if v.Match || v.MatchCount != 0 {
			t.Errorf("%q counted: %+v", s, v)
		}
		if len(v.Findings) == 0 || !v.Findings[0].Example || v.Findings[0].Confidence != Low {
			t.Errorf("%q: want a low-confidence example finding, got %+v", s, v.Findings)
		}
	}
}

func TestProfileThresholdAndCount(t *testing.T) {
	e := NewEngine(Options{})
	ssn, _ := PredefinedEntry("us_ssn")
	text := "ref 536-22-1234 and 536-22-1235"
	high := NewProfile("ids", High, 0, ssn)
	if v, _ := e.Scan(context.Background(), strings.NewReader(text), high); v.Match {
		t.Error("no keyword: should not reach High")
	}
	if v, _ := e.Scan(context.Background(), strings.NewReader("SSN: "+text), high); !v.Match || v.MatchCount != 2 {
		t.Errorf("keyword: want 2 high matches, got %+v", v)
	}
	allow2 := NewProfile("ids", Low, 2, ssn)
	if v, _ := e.Scan(context.Background(), strings.NewReader(text), allow2); v.Match {
		t.Error("2 matches with allowed_match_count 2 must not match (needs > N)")
	}
}

func TestCustomEntries(t *testing.T) {
	e := NewEngine(Options{})
	rx, err := NewRegexEntry("sku", `SKU-[0-9]{6}`, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRegexEntry("bad", `(`, ""); err == nil {
		t.Error("bad regex accepted")
	}
	wl, _ := NewWordListEntry("codename", []string{"Project Nightjar", "bluebird"}, false)
	ds, err := NewDataset(strings.NewReader("name,ssn\nJohn Q Public,536-22-1234\nAda Lovelace,111-22-3333\n"), []byte("0123456789abcdef-salt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"John Q Public", "536-22-1234", "johnqpublic"} {
		if bytes.Contains(mustJSON(ds), []byte(h)) {
			t.Fatalf("dataset stores plaintext %q", h)
		}
	}
	edm := NewEDMEntry("customers", ds)
	p := NewProfile("custom", Low, 0, rx, wl, edm)
	v, _ := e.Scan(context.Background(), strings.NewReader(
		"order SKU-123456 for PROJECT NIGHTJAR; customer ada  lovelace, id 111 22 3333; bluebirds no"), p)
	got := map[string]int{}
	for _, f := range v.Findings {
		got[f.Entry]++
		if f.Entry == "customers" && strings.ContainsAny(f.Sample, "adl0123456789") {
			t.Errorf("EDM sample not redacted: %q", f.Sample)
		}
	}
	if got["sku"] != 1 || got["codename"] != 1 || got["customers"] != 2 {
		t.Errorf("findings %v (%+v)", got, v.Findings)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestPayloadEncryption(t *testing.T) {
	pub, priv, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := EncryptPayload(pub, []byte("secret match"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := DecryptPayload(priv, ct)
	if err != nil || string(pt) != "secret match" {
		t.Fatalf("round trip: %q %v", pt, err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := DecryptPayload(priv, ct); err == nil {
		t.Error("tampered payload opened")
	}
	_, other, _ := GenerateKeyPair()
	ct[len(ct)-1] ^= 1
	if _, err := DecryptPayload(other, ct); err == nil {
		t.Error("opened with the wrong key")
	}
	// Findings carry encrypted payloads when the engine has a key.
	e := NewEngine(Options{PayloadKey: pub})
	p, _ := PredefinedProfile("Credentials and Secrets")
	v, _ := e.Scan(context.Background(), strings.NewReader("t="+testToken), p)
	if len(v.Findings) != 1 || v.Findings[0].Payload == nil {
		t.Fatalf("no payload: %+v", v)
	}
	pt, err = DecryptPayload(priv, v.Findings[0].Payload)
	if err != nil || !strings.Contains(string(pt), testToken) {
		t.Fatalf("payload %q %v", pt, err)
	}
	if strings.Contains(v.Findings[0].Sample+v.Findings[0].Context, testToken[4:]) {
		t.Error("token visible in clear sample/context")
	}
}

// TestNationalIDExamples: published valid examples are found (or marked as examples), and the
// same numbers with another check digit are not.
func TestNationalIDExamples(t *testing.T) {
	e := NewEngine(Options{})
	p, _ := PredefinedProfile(ProfileNationalIDs)
	cases := []struct {
		text, entry string
		example     bool
	}{
		{"NHS number 943 476 5919", "uk_nhs", true},
		{"TFN 123 456 782", "au_tfn", true},
		{"NRIC S1234567D", "sg_nric", false},
		{"HKID A123456(3)", "hk_hkid", false},
		{"身分證 A123456789", "tw_id", false},
		{"NHS number 943 476 5918", "", false},
		{"TFN 123 456 783", "", false},
		{"NRIC S1234567E", "", false},
		{"HKID A123456(4)", "", false},
		{"ID A123456788", "", false},
	}
	for _, c := range cases {
		v, err := e.Scan(context.Background(), strings.NewReader(c.text), p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range v.Findings {
			if f.Entry == c.entry && f.Example == c.example {
				got = append(got, f.Entry)
			} else if f.Entry != "" && c.entry == "" {
				got = append(got, "unexpected "+f.Entry)
			}
		}
		if c.entry != "" && len(got) != 1 || c.entry == "" && len(got) != 0 {
			t.Errorf("%q: findings %+v", c.text, v.Findings)
		}
	}
}

// TestConcurrentScans: one Engine and one fresh Profile used from many goroutines at once (the
// plan is compiled on first use, trial decoders come from pools) give every goroutine the verdict
// a scan alone gives. make test-race runs it under the race detector.
func TestConcurrentScans(t *testing.T) {
	var brBuf bytes.Buffer
	bw := brotli.NewWriter(&brBuf)
	bw.Write(bytes.Repeat([]byte("config: "+testToken+"\n"), 3))
	bw.Close()
	inputs := [][]byte{
		[]byte("card 4539 1488 0343 6467 and NRIC S1234567D, mail ada@lovelace.org"),
		brBuf.Bytes(),
		denseText(7, "pii", 64<<10),
		append([]byte{0x78, 0x01}, bytes.Repeat([]byte{0xa5}, 500)...),
	}
	verdictKey := func(v Verdict) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%v %d %v|", v.Match, v.MatchCount, v.Incomplete)
		for _, f := range v.Findings {
			fmt.Fprintf(&b, "%s@%v:%d-%d,", f.Entry, f.Path, f.Start, f.End)
		}
		return b.String()
	}
	e := NewEngine(Options{})
	ref, _ := PredefinedProfile("all")
	want := make([]string, len(inputs))
	for i, in := range inputs {
		v, err := e.Scan(context.Background(), bytes.NewReader(in), ref)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = verdictKey(v)
	}
	shared, _ := PredefinedProfile("all") // not used yet: its plan is compiled by the race below
	const workers = 8
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for g := range got {
		got[g] = make([]string, 2*len(inputs))
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range got[g] {
				i := (k + g) % len(inputs)
				v, err := e.Scan(context.Background(), bytes.NewReader(inputs[i]), shared)
				if err != nil {
					got[g][k] = err.Error()
					continue
				}
				got[g][k] = verdictKey(v)
			}
		}(g)
	}
	wg.Wait()
	for g := range got {
		for k, key := range got[g] {
			if i := (k + g) % len(inputs); key != want[i] {
				t.Errorf("goroutine %d, input %d: verdict differs from a scan alone\n got %s\nwant %s", g, i, key, want[i])
			}
		}
	}
}

// TestPIIRecord: three kinds of personal data close together make one PII record; two kinds, or
// three spread far apart, make none; a profile with only pii_record reports the record and not
// its parts.
func TestPIIRecord(t *testing.T) {
	e := NewEngine(Options{})
	only := NewProfile("records", Low, 0, mustEntries(recordEntryID)...)
	all, _ := PredefinedProfile("all")
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 20)
	cases := []struct {
		name, text string
		records    int
	}{
		{"email, phone and SSN on one line", "Ada Lovelace, ada@lovelace.org, (415) 293-8876 ext, SSN 536-22-8726", 1},
		{"two kinds only", "ada@lovelace.org (415) 293-8876 and bob@example.net", 0},
		{"three kinds far apart", "ada@lovelace.org " + filler + "(415) 293-8876 " + filler + "SSN 536-22-8726", 0},
		{"two records", "a@lovelace.org (415) 293-8876 536-22-8726 " + filler + "b@lovelace.org NRIC S1234567D card 4539 1488 0343 6467", 2},
	}
	for _, c := range cases {
		for _, p := range []*Profile{only, all} {
			v, err := e.Scan(context.Background(), strings.NewReader(c.text), p)
			if err != nil {
				t.Fatal(err)
			}
			records, parts := 0, 0
			for _, f := range v.Findings {
				if f.Entry == recordEntryID {
					records++
					if f.Confidence != High || f.End <= f.Start {
						t.Errorf("%s: record finding %+v", c.name, f)
					}
				} else {
					parts++
				}
			}
			if records != c.records {
				t.Errorf("%s (profile %s): %d records, want %d: %+v", c.name, p.Name, records, c.records, v.Findings)
			}
			if p == only && (parts != 0 || v.Match != (c.records > 0)) {
				t.Errorf("%s: profile with only pii_record reports %d parts, match %v", c.name, parts, v.Match)
			}
		}
	}
}
