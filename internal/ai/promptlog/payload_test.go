package promptlog

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

func keyPair(t testing.TB) (pub, priv []byte) {
	t.Helper()
	pub, priv, err := dlp.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestSealOpen(t *testing.T) {
	pub, priv := keyPair(t)
	_, otherPriv := keyPair(t)
	p := &Payload{Prompt: "summarise this contract", SystemPrompt: "you are helpful", Response: "It says…",
		Attachments: []Attachment{{Name: "contract.pdf", ContentType: "application/pdf", Size: 1234, SHA256: strings.Repeat("ab", 32)}}}
	ct, err := Seal(pub, p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ct), "contract") || strings.Contains(string(ct), "summarise") {
		t.Fatal("the sealed payload holds plaintext")
	}
	got, err := Open(priv, ct)
	if err != nil {
		t.Fatal(err)
	}
	if got.Prompt != p.Prompt || got.SystemPrompt != p.SystemPrompt || got.Response != p.Response ||
		len(got.Attachments) != 1 || got.Attachments[0] != p.Attachments[0] || got.Truncated {
		t.Errorf("Open = %+v, want %+v", got, p)
	}
	// Two seals of the same payload differ (a fresh encapsulated key each time).
	ct2, _ := Seal(pub, p)
	if string(ct2) == string(ct) {
		t.Error("two seals are identical")
	}

	for _, tc := range []struct {
		name string
		key  []byte
		blob []byte
		want error
	}{
		{"wrong key", otherPriv, ct, ErrDecrypt},
		{"flipped byte", priv, flip(ct, len(ct)-1), ErrDecrypt},
		{"flipped encapsulated key", priv, flip(ct, 5), ErrDecrypt},
		{"empty", priv, nil, ErrMalformed},
		{"short", priv, ct[:40], ErrMalformed},
		{"other version", priv, append([]byte{1}, ct[1:]...), ErrMalformed},
	} {
		_, err := Open(tc.key, tc.blob)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Open error %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Open(priv[:31], ct); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("short key: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}

func TestOpenMalformedPlaintext(t *testing.T) {
	pub, priv := keyPair(t)
	for name, pt := range map[string]string{
		"not JSON":       "hello",
		"other version":  `{"v":2,"prompt":"x"}`,
		"no version":     `{"prompt":"x"}`,
		"trailing data":  `{"v":1,"prompt":"x"} {}`,
		"wrong type":     `{"v":1,"prompt":7}`,
		"json null":      `null`,
		"array document": `[1]`,
	} {
		ct, err := dlp.EncryptPayload(pub, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(priv, ct); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Open error %v, want ErrMalformed", name, err)
		}
	}
	// Fields a later version adds are ignored.
	ct, _ := dlp.EncryptPayload(pub, []byte(`{"v":1,"prompt":"x","later":true}`))
	if p, err := Open(priv, ct); err != nil || p.Prompt != "x" {
		t.Errorf("unknown field: %+v, %v", p, err)
	}
}

func TestSealBounds(t *testing.T) {
	pub, priv := keyPair(t)
	long := strings.Repeat("é", MaxTextBytes) // two bytes each: cut in the middle of none
	atts := make([]Attachment, MaxAttachments+5)
	ct, err := Seal(pub, &Payload{Prompt: "x" + long, Response: "short", Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(priv, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || len(got.Prompt) > MaxTextBytes || len(got.Prompt) < MaxTextBytes-1 || !utf8.ValidString(got.Prompt) ||
		got.Response != "short" || len(got.Attachments) != MaxAttachments {
		t.Errorf("bounded payload: truncated=%v prompt %d bytes (valid UTF-8 %v) response %q attachments %d",
			got.Truncated, len(got.Prompt), utf8.ValidString(got.Prompt), got.Response, len(got.Attachments))
	}
	ct, _ = Seal(pub, &Payload{Prompt: strings.Repeat("a", MaxTextBytes)})
	if got, _ := Open(priv, ct); got == nil || got.Truncated || len(got.Prompt) != MaxTextBytes {
		t.Errorf("a prompt of exactly MaxTextBytes was cut: %+v", got != nil && got.Truncated)
	}
}

// FuzzOpen: no envelope, however damaged, makes Open panic; what opens is a payload that
// seals and opens again to itself.
func FuzzOpen(f *testing.F) {
	pub, priv := keyPair(f)
	for _, p := range []Payload{{Prompt: "hi"}, {Prompt: "x", Response: "y", Attachments: []Attachment{{Name: "a", Size: 1}}}, {}} {
		ct, err := Seal(pub, &p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
		f.Add(ct[:len(ct)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, blob []byte) {
		p, err := Open(priv, blob)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Open error %v is neither ErrDecrypt nor ErrMalformed", err)
			}
			return
		}
		ct, err := Seal(pub, p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Open(priv, ct)
		if err != nil || q.Prompt != p.Prompt || q.Response != p.Response || len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("reseal: %+v, %v; want %+v", q, err, p)
		}
	})
}

// FuzzDecodePayload: the JSON inside an envelope never makes the decoder panic, and what it
// accepts is version 1.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{`{"v":1,"prompt":"x"}`, `{"v":1,"prompt":"x","attachments":[{"name":"a","size":3}]}`,
		`{"v":2}`, `null`, `[]`, `{"v":1} x`, `{"v":1,"truncated":true,"response":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, pt []byte) {
		p, err := decodePayload(pt)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil payload without an error")
		}
	})
}
