package dlp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// chainStep is one encoding an evasion chain can apply. text says the step
// needs text input (a binary layer must first go through base64, hex or
// percent-encoding); declared says the step is an HTTP content coding
// that, as the outermost steps, may be declared in Content-Encoding.
type chainStep struct {
	name     string
	text     bool
	binary   bool // output is binary
	declared string
	apply    func(b []byte, arg byte) []byte
}

var chainSteps = []chainStep{
	{name: "gzip", binary: true, declared: "gzip", apply: func(b []byte, _ byte) []byte { return gz(b) }},
	{name: "zlib", binary: true, declared: "deflate", apply: func(b []byte, _ byte) []byte { return zl(b) }},
	{name: "zstd", binary: true, declared: "zstd", apply: func(b []byte, _ byte) []byte { return zs(b) }},
	{name: "brotli", binary: true, declared: "br", apply: func(b []byte, _ byte) []byte { return br(b) }},
	{name: "base64", apply: func(b []byte, _ byte) []byte { return []byte("data=" + base64.StdEncoding.EncodeToString(b)) }},
	{name: "base64url", apply: func(b []byte, _ byte) []byte { return []byte(base64.RawURLEncoding.EncodeToString(b)) }},
	{name: "base64 wrapped", apply: func(b []byte, arg byte) []byte {
		nl := []string{"\n", "\r\n"}[arg%2]
		return []byte("blob:\n" + wrap(base64.StdEncoding.EncodeToString(b), 20+int(arg)%70, nl, "") + nl)
	}},
	{name: "hex", apply: func(b []byte, _ byte) []byte { return []byte("h " + hex.EncodeToString(b)) }},
	{name: "percent", apply: func(b []byte, _ byte) []byte { return []byte("q=" + url.QueryEscape(string(b))) }},
	{name: "percent all", apply: func(b []byte, _ byte) []byte { return []byte(percentAll(string(b))) }},
	{name: "json string", text: true, apply: func(b []byte, _ byte) []byte {
		s, _ := json.Marshal(map[string]string{"content": string(b)})
		return s
	}},
	{name: "json \\u escapes", text: true, apply: func(b []byte, _ byte) []byte {
		return []byte(`{"v":"` + jsonEscapeAll(string(b)) + `"}`)
	}},
	{name: "utf-16", text: true, binary: true, apply: func(b []byte, arg byte) []byte {
		w := []wideEncoding{utf16LE, utf16BE, utf32LE, utf32BE}[arg%4]
		return encodeWide(string(b), w, arg&4 != 0)
	}},
	{name: "split json", text: true, apply: func(b []byte, arg byte) []byte {
		// Two to four values cut at positions chosen by arg, JSON-escaped.
		n := 2 + int(arg)%3
		var parts []string
		s := string(b)
		for i := 0; i < n; i++ {
			cut := len(s) * (i + 1) / n
			if i == n-1 {
				cut = len(s)
			}
			lo := len(s) * i / n
			for lo > 0 && lo < len(s) && !utf8Start(s[lo]) {
				lo--
			}
			for cut < len(s) && !utf8Start(s[cut]) {
				cut++
			}
			parts = append(parts, s[lo:cut])
			s2 := s[cut:]
			_ = s2
		}
		out, _ := json.Marshal(dedupeCuts(string(b), parts))
		return out
	}},
	{name: "split form", text: true, apply: func(b []byte, arg byte) []byte {
		s := string(b)
		cut := len(s)/2 + int(arg)%7 - 3
		cut = max(1, min(len(s)-1, cut))
		for cut < len(s) && !utf8Start(s[cut]) {
			cut++
		}
		return []byte("a=" + url.QueryEscape(s[:cut]) + "&b=" + url.QueryEscape(s[cut:]) + "&c=ok")
	}},
	{name: "full-width", text: true, apply: func(b []byte, _ byte) []byte { return []byte(fullWidth(string(b))) }},
}

func utf8Start(c byte) bool { return c < 0x80 || c >= 0xC0 }

// dedupeCuts rebuilds non-overlapping consecutive parts of s from the cut
// points the parts end at.
func dedupeCuts(s string, parts []string) []string {
	var out []string
	pos := 0
	for _, p := range parts {
		end := min(len(s), pos+len(p))
		if strings.HasSuffix(s[:end], p) || end == len(s) {
			out = append(out, s[pos:end])
			pos = end
		}
	}
	if pos < len(s) {
		out = append(out, s[pos:])
	}
	return out
}

// buildChain applies the steps that choices name to doc, innermost first
// (at most four, one split), and returns the result with a Content-Encoding
// declaring the codings when every step is one, and the steps' names.
func buildChain(doc []byte, choices []byte) ([]byte, Hints, []string) {
	data := doc
	binary := false
	var names, declared []string
	for i := 0; i+1 < len(choices) && len(names) < 4; i += 2 {
		st := chainSteps[int(choices[i])%len(chainSteps)]
		if st.text && binary || st.binary && st.text && len(names) > 0 && names[len(names)-1] == "utf-16" {
			continue
		}
		// One split per chain: values split again inside a split value
		// are not joined (docs/dlp.md).
		if strings.HasPrefix(st.name, "split") && strings.Contains(strings.Join(names, ","), "split") {
			continue
		}
		data = st.apply(data, choices[i+1])
		binary = st.binary
		names = append(names, st.name)
		if st.declared != "" && len(declared) == len(names)-1 {
			declared = append(declared, st.declared)
		} else {
			declared = nil
		}
	}
	var h Hints
	if len(declared) > 0 && len(declared) == len(names) && choices[0]&1 == 1 {
		h.ContentEncoding = strings.Join(declared, ", ")
	}
	return data, h, names
}

var (
	chainEngine     = NewEngine(Options{MaxDecodedBytes: 8 << 20})
	chainProfile, _ = PredefinedProfile("Credentials and Secrets")
)

// chainFindsOrIncomplete is the property: a document holding a credential,
// put through any chain of supported encodings, is found (some finding of
// the Credentials and Secrets profile) or the verdict is incomplete.
func chainFindsOrIncomplete(t *testing.T, doc []byte, choices []byte) {
	data, h, names := buildChain(doc, choices)
	v, err := chainEngine.ScanHints(context.Background(), bytes.NewReader(data), chainProfile, h)
	if err != nil {
		t.Fatal(err)
	}
	if v.MatchCount == 0 && !v.Incomplete {
		t.Fatalf("chain %v (Content-Encoding %q) hides the credential in %q", names, h.ContentEncoding, doc)
	}
}

// TestEvasionChains: every credential kind of the secrets corpus through
// random chains of up to four encodings (compressions, base64 plain and
// wrapped, hex, percent-encoding, JSON escapes, UTF-16/32, values split
// across JSON strings and form fields, full-width forms, declared content
// codings) is found or reported incomplete.
func TestEvasionChains(t *testing.T) {
	g := newGen(20261207)
	docs := secretsCorpus(99, 1)
	n := 0
	for _, d := range docs {
		if d.Kind == "" {
			continue
		}
		for k := 0; k < 12; k++ {
			choices := []byte(g.str("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13", 8))
			chainFindsOrIncomplete(t, []byte(d.Text), choices)
			n++
		}
	}
	t.Logf("%d chains", n)
}

func FuzzEvasionChain(f *testing.F) {
	docs := secretsCorpus(99, 1)
	f.Add(uint8(0), []byte{0, 1, 4, 0})
	f.Add(uint8(4), []byte{12, 3, 0, 1, 6, 9})
	f.Add(uint8(9), []byte{13, 2, 8, 0, 8, 0})
	f.Add(uint8(20), []byte{14, 5, 9, 0, 11, 0, 4, 0})
	f.Fuzz(func(t *testing.T, kind uint8, choices []byte) {
		var creds []secretDoc
		for _, d := range docs {
			if d.Kind != "" {
				creds = append(creds, d)
			}
		}
		chainFindsOrIncomplete(t, []byte(creds[int(kind)%len(creds)].Text), choices)
	})
}

// benignTexts are the hard-negative prose corpora the new passes must not
// fire on: the NotInject prompts of shared/datasets (when present) and
// multilingual text with the words and digits the folds touch.
func benignTexts(t *testing.T) []string {
	texts := []string{
		"Пароль от Wi-Fi в переговорной сменили в среду; новый пароль спросите у администратора. Токен доступа к порталу выдаётся на 30 дней, ключ API — только руководителю группы. Встреча в 14:30, кабинет 305, телефон отдела указан на сайте.",
		"Σύμφωνα με την αναφορά του τρίτου τριμήνου, η ομάδα ολοκλήρωσε τη μετάβαση. ΚΑΤΑΣΤΑΣΗ: ΟΚ. Ο κωδικός πρόσβασης αλλάζει κάθε 90 ημέρες και το ΤΟΚΕΝ της υπηρεσίας ανανεώνεται αυτόματα.",
		"Зустріч перенесено на 12.03.2026 о 10:00. Секретар надішле порядок денний; ключ від кабінету 214 у охорони. Рахунок №4471 оплачено, залишок 1 250 грн.",
		"تم تحديث كلمة المرور للنظام في ٢٠٢٦/٠٣/١٢ وسيتم إرسال الرمز الجديد عبر البريد. الاجتماع في الساعة ١٠:٣٠ في القاعة ٤ مع ١٢ مشاركًا.",
		"बैठक १२ मार्च २०२६ को सुबह १०:३० बजे होगी। पासवर्ड बदलने का अनुरोध आईटी विभाग को भेजें; कमरा संख्या ४०२।",
		"東京本社の会議は３月１２日１０時から。パスワードの変更は情報システム部へ。内線１２３４、会議室Ｂ。",
		"ΑΡΙΘΜΟΣ ΠΑΡΑΓΓΕΛΙΑΣ 2026-0412, ΠΟΣΟΤΗΤΑ 15, ΤΙΜΗ 12,50 ΕΥΡΩ. Кол-во: 3 шт., цена 1 490 ₽, артикул КР-4471-ОС.",
		`{"name":"Анна","city":"Київ","note":"зустріч о 10:00","tags":["робота","зустріч"],"count":"12","room":"305"}`,
		"lang=ru&q=%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C&page=2&sort=date",
	}
	dir := os.Getenv("GATEHOUSE_SHARED_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "datasets")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "prompt-benign", "NotInject_*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var items []struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(b, &items); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		texts = append(texts, string(b))
		for _, it := range items {
			texts = append(texts, it.Prompt)
		}
	}
	if len(files) == 0 {
		t.Logf("no NotInject prompts under %s: multilingual texts only", dir)
	}
	return texts
}

// TestBenignTextsClean: benign prose in many scripts, as it is and through
// the encodings the new passes read (UTF-16/32 with and without a byte
// order mark, base64 wrapped, twice percent-encoded, JSON values), gives
// no finding and a complete verdict.
func TestBenignTextsClean(t *testing.T) {
	e := NewEngine(Options{})
	p, _ := PredefinedProfile("all")
	for i, s := range benignTexts(t) {
		variants := map[string][]byte{
			"plain":            []byte(s),
			"utf-16le":         encodeWide(s, utf16LE, false),
			"utf-16be bom":     encodeWide(s, utf16BE, true),
			"utf-32le":         encodeWide(s, utf32LE, false),
			"base64 wrapped":   []byte(wrap(base64.StdEncoding.EncodeToString([]byte(s)), 76, "\n", "")),
			"percent twice":    []byte("q=" + url.QueryEscape(url.QueryEscape(s))),
			"json values":      mustJSON(strings.Fields(s)),
			"utf-16 in base64": []byte(base64.StdEncoding.EncodeToString(encodeWide(s, utf16LE, false))),
		}
		for name, data := range variants {
			v, err := e.Scan(context.Background(), bytes.NewReader(data), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Findings) > 0 || v.Incomplete {
				t.Errorf("text %d (%s) %q: findings %+v, incomplete %v %v", i, name, s[:min(len(s), 80)], v.Findings, v.Incomplete, v.Reasons)
			}
		}
	}
	_ = strconv.Itoa
}
