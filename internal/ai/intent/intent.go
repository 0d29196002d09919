// Package intent is the rule-based intent classifier of AI prompt
// protection: it decides whether a prompt (and the tool output or document
// text that came with it) tries to jailbreak the model or inject
// instructions (intent_jailbreak), asks for someone's personal data
// (intent_pii), or asks for malware, exploits or security evasion
// (intent_code_abuse). It ships in the binary: a multilingual lexicon of
// concepts and rules that combine them by position, with no model to
// download.
//
// Text is normalised before the rules read it (see tokenizer): Unicode
// NFKD without combining marks, invisible characters removed, look-alike
// letters folded (the DLP engine's confusables table), leetspeak undone,
// spaced-out and split words rejoined. Base64, hex and percent-encoded
// payloads are decoded and read as well, the text is also read through
// ROT13, quoted fragments are read joined, and HTML or Markdown comments
// count as hiding places. Every verdict names its rule family, its
// reasons and the spans of text it rests on.
package intent

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Topic IDs of the verdicts.
const (
	TopicJailbreak = "intent_jailbreak"
	TopicPII       = "intent_pii"
	TopicCodeAbuse = "intent_code_abuse"
)

var topicIDs = [numTopics]string{TopicJailbreak, TopicPII, TopicCodeAbuse}

// Field names in spans.
const (
	FieldPrompt  = "prompt"
	FieldContext = "context"
)

// Span is a byte range of the prompt or the context a verdict rests on.
// For a payload decoded from base64 or hex it covers the encoded run.
type Span struct {
	Field string `json:"field"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Verdict is one intent topic found in an input.
type Verdict struct {
	Topic string
	// Score is the sum of the rule weights; Threshold or more is a verdict.
	Score      int
	Confidence string // low, medium or high
	// Family is the rule family that decided: the evasion that hid the
	// attempt (encoded, payload_splitting, hidden_markup, obfuscated,
	// indirect_injection) when there was one, else the strongest rule.
	Family  string
	Reasons []string
	Spans   []Span
}

// Threshold is the score at which a topic is reported.
const Threshold = 4

// confidence maps a score to low, medium or high.
func confidence(score int) string {
	switch {
	case score >= 8:
		return "high"
	case score >= 6:
		return "medium"
	}
	return "low"
}

// Classifier classifies inputs. It is safe for concurrent use; the zero
// value is not usable, call New.
type Classifier struct {
	lx   *lexicon
	pool sync.Pool
}

// New returns a classifier with the built-in lexicon.
func New() *Classifier {
	c := &Classifier{lx: lex}
	c.pool.New = func() any { return &work{tk: tokenizer{lx: lex}} }
	return c
}

// work is the scratch space of one Classify call.
type work struct {
	tk      tokenizer
	views   []view
	hidden  [][2]int32
	quoted  [][2]int32 // quoted passages of the field, when it has quotes
	mention bool       // the plain view quotes an attack it talks about
	decode  bool       // the plain view has a decode, reverse or cipher word
	join    bool       // the plain view has a join word
	cands   [][2]int32 // runs of words the lexicon does not know: cipher candidates
	signals []placed
}

// placed is a signal mapped to a field, with the evasions it went through.
type placed struct {
	signal
	field      int
	start, end int32
	evasion    string
	evReason   string
}

// Classify returns the intent topics of a prompt and its context, ordered
// by topic ID. It never fails: text it cannot read (invalid UTF-8, binary)
// is skipped byte by byte.
func (c *Classifier) Classify(prompt, context string) []Verdict {
	w := c.pool.Get().(*work)
	defer func() {
		// do not keep the buffers of a huge document for the next call
		if cap(w.tk.toks) > 1<<16 || cap(w.tk.arena) > 1<<20 {
			w.tk.toks, w.tk.arena = nil, nil
		}
		c.pool.Put(w)
	}()
	w.signals = w.signals[:0]
	for field, text := range [2]string{prompt, context} {
		if text != "" {
			c.field(w, text, field)
		}
	}
	if len(w.signals) == 0 {
		return nil
	}
	return verdicts(w.signals)
}

func (c *Classifier) field(w *work, text string, field int) {
	w.hidden = hiddenRegions(text, w.hidden[:0])
	h := hintsOf(text)
	w.quoted, w.mention = w.quoted[:0], false
	if h.quotes >= 2 {
		w.quoted = quotedRegions(text, w.quoted)
	}
	w.decode = false
	plainCore := c.view(w, &view{text: text, field: field, kind: viewPlain}, true)
	if w.decode {
		w.cands = cipherCandidates(w.tk.toks, w.cands[:0])
	}
	w.views = w.views[:0]
	if h.encoded {
		w.views = decodedViews(text, field, w.views)
	}
	if strings.Contains(text, "\xf3\xa0\x80") || strings.Contains(text, "\xf3\xa0\x81") {
		// Unicode tag characters (U+E0020–U+E007E) spell ASCII no
		// renderer shows
		if tv, ok := tagView(text, field); ok {
			w.views = append(w.views, tv)
		}
	}
	if strings.Contains(text, "\u202e") {
		// a right-to-left override shows the text after it backwards:
		// what is stored reversed reads forwards on screen
		w.views = rloViews(text, field, w.views)
	}
	if w.decode {
		// asked to decode: base32, binary, reversed and shifted text are
		// read as well (bounded, and only then)
		w.views = cipherViews(text, field, h.encoded, w.cands, w.views)
		if mv, ok := morseView(text, field); ok {
			w.views = append(w.views, mv)
		}
	}
	if w.join && !w.mention {
		// "First word: bypass. Second word: your. …": the labelled parts
		if lv, ok := labelledView(text, field); ok {
			w.views = append(w.views, lv)
		}
		if av, ok := acrosticView(text, field); ok {
			w.views = append(w.views, av)
		}
	}
	if h.quotes >= 3 && !w.mention {
		if jv, ok := joinedView(text, field); ok {
			w.views = append(w.views, jv)
		}
	}
	for i := range w.views {
		v := &w.views[i]
		mark := len(w.signals)
		core := c.view(w, v, false)
		if v.kind.assembled() && core <= plainCore {
			w.signals = w.signals[:mark] // nothing the plain reading missed
			continue
		}
		// quoted fragments joined may pair words that were never one
		// sentence ("'restriction' … 'FORGET'"): they need more than a
		// passive reading to count
		if core < 2 || v.kind.assembled() && core < 3 {
			w.signals = w.signals[:mark]
			continue
		}
		ev, why := "encoded", "decoded from base64"
		switch v.kind {
		case viewHex:
			why = "decoded from hex"
		case viewPercent:
			why = "decoded from percent-encoding"
		case viewBase32:
			why = "decoded from base32"
		case viewBinary:
			why = "decoded from binary"
		case viewReversed:
			why = "read backwards"
		case viewShifted:
			why = "read through a Caesar shift"
		case viewTags:
			why = "spelled in invisible Unicode tag characters"
		case viewMorse:
			why = "decoded from Morse code"
		case viewJoined:
			ev, why = "payload_splitting", "assembled from quoted fragments"
		case viewLabelled:
			ev, why = "payload_splitting", "assembled from labelled parts"
		case viewAcrostic:
			ev, why = "payload_splitting", "read from the first letters of its lines"
		}
		for k := mark; k < len(w.signals); k++ {
			w.signals[k].evasion, w.signals[k].evReason = ev, why
		}
	}
}

// view runs the rules over one view in both channels and appends placed
// signals; it returns the view's core jailbreak score.
func (c *Classifier) view(w *work, v *view, plain bool) int {
	tk := &w.tk
	tk.reset()
	tk.run(v.text)
	tk.rejoin(v.text)
	tk.markBreaks(v.text)
	tk.phrases()
	core := 0
	for ch := 0; ch < 2; ch++ {
		if ch == 1 && !rot13Worth(tk.toks) {
			break
		}
		r := ruleCtx{toks: tk.toks, text: v.text, ch: ch, context: v.field == 1, plain: plain && ch == 0}
		if r.plain {
			r.hidden = w.hidden
		}
		r.jailbreak()
		if r.plain {
			w.decode, w.join = r.sawDecode, r.sawJoin
		}
		if plain && ch == 0 {
			r.structure(w)
		}
		if plain && ch == 0 && len(w.quoted) > 0 {
			w.mention = r.mentionOnly(w.quoted)
		}
		r.pii()
		r.codeAbuse()
		r.hiddenHarm()
		mark := len(w.signals)
		best := [numTopics]int{}
		for _, s := range r.out {
			if s.weight > best[s.topic] {
				best[s.topic] = s.weight
			}
		}
		if ch == 1 && best[topicJailbreak] < 3 && best[topicPII] < 4 && best[topicCodeAbuse] < 4 {
			continue // a ROT13 reading of ordinary text: chance hits
		}
		for _, s := range r.out {
			p := placed{signal: s, field: v.field}
			if s.from >= 0 {
				p.start, p.end = v.orig(tk.toks[s.from].start, tk.toks[s.to].end)
			} else {
				p.start, p.end = v.orig(s.rawStart, s.rawEnd)
			}
			if ch == 1 {
				p.evasion, p.evReason = "encoded", "read through ROT13"
			} else if plain {
				if v.field == 0 && s.family == "indirect_injection" {
					p.evasion, p.evReason = "indirect_injection", "addressed to the AI inside a document, message or tool result pasted into the prompt"
				}
				for _, h := range w.hidden {
					if p.start >= h[0] && p.end <= h[1] {
						p.evasion, p.evReason = "hidden_markup", "inside an HTML or Markdown comment or hidden element"
						break
					}
				}
				if p.evasion == "" && s.from >= 0 {
					for k := s.from; k <= s.to; k++ {
						if tk.toks[k].flags&tokFolded != 0 {
							p.evasion, p.evReason = "obfuscated", "leetspeak, look-alike letters, invisible characters or spacing undone"
							break
						}
					}
				}
			}
			w.signals = append(w.signals, p)
		}
		if ch == 0 {
			core = best[topicJailbreak]
		}
		_ = mark
	}
	return core
}

// rot13Worth reports whether the ROT13 reading finds at least three
// content words: otherwise the rules would find nothing there.
func rot13Worth(toks []tok) bool {
	n := 0
	for i := range toks {
		if toks[i].cats[1]&^catFill != 0 && toks[i].cats[1] != toks[i].cats[0] {
			n++
			if n >= 3 {
				return true
			}
		}
	}
	return false
}

// evasion bonuses: hiding an attempt is itself evidence.
var evasionBonus = map[string]int{"encoded": 2, "payload_splitting": 2, "hidden_markup": 2, "obfuscated": 1, "indirect_injection": 1}

// verdicts combines placed signals: per topic the strongest signal of each
// family counts, plus a bonus for each evasion the attempt went through and
// for appearing in the context.
func verdicts(sigs []placed) []Verdict {
	var out []Verdict
	for t := uint8(0); t < numTopics; t++ {
		fam := map[string]int{}
		ev := map[string]bool{}
		var reasons []string
		var spans []Span
		bestFam, bestW := "", 0
		for _, s := range sigs {
			if s.topic != t || s.weight <= 0 {
				continue
			}
			if s.weight > fam[s.family] {
				fam[s.family] = s.weight
			}
			if s.weight > bestW {
				bestFam, bestW = s.family, s.weight
			}
		}
		score := 0
		for _, w := range fam {
			if w >= 2 { // a lone mention (weight 1) explains, it does not decide
				score += w
			}
		}
		if score < 2 {
			continue
		}
		evFam := ""
		for _, s := range sigs {
			if s.topic != t || s.weight <= 0 {
				continue
			}
			reasons = appendUnique(reasons, s.reason)
			if s.weight >= 2 {
				spans = appendSpan(spans, s)
			}
			if s.evasion != "" && !ev[s.evasion] && s.weight >= 2 {
				ev[s.evasion] = true
				score += evasionBonus[s.evasion]
				reasons = appendUnique(reasons, s.evReason)
				if evFam == "" || evasionBonus[s.evasion] > evasionBonus[evFam] {
					evFam = s.evasion
				}
			}
			if s.field == 1 && t == topicJailbreak && !ev["context"] && s.weight >= 2 {
				ev["context"] = true
				score++
				reasons = appendUnique(reasons, "found in the tool output or document that came with the prompt")
				if evFam == "" {
					evFam = "indirect_injection"
				}
			}
		}
		if score < Threshold {
			continue
		}
		if evFam != "" {
			bestFam = evFam
		}
		out = append(out, Verdict{Topic: topicIDs[t], Score: score, Confidence: confidence(score), Family: bestFam, Reasons: reasons, Spans: spans})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

func appendUnique(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

const maxSpans = 8

func appendSpan(l []Span, s placed) []Span {
	f := FieldPrompt
	if s.field == 1 {
		f = FieldContext
	}
	sp := Span{Field: f, Start: int(s.start), End: int(s.end)}
	for i, x := range l {
		if x.Field == sp.Field && sp.Start <= x.End && x.Start <= sp.End {
			l[i].Start, l[i].End = min(x.Start, sp.Start), max(x.End, sp.End)
			return l
		}
	}
	if len(l) >= maxSpans {
		return l
	}
	return append(l, sp)
}

// structure finds chat-template markup and role labels at the start of
// lines: a fake system message ("SYSTEM:", "<|im_start|>system",
// "[INST]", "### Instruction") or a fake transcript (user and assistant
// turns written into one message).
func (r *ruleCtx) structure(w *work) {
	text := r.text
	var sys, user, asst int32 = -1, -1, -1
	var sysEnd int32
	complied := int32(-1)
	for off := 0; off < len(text); {
		e := strings.IndexByte(text[off:], '\n')
		line := text[off:]
		if e >= 0 {
			line = text[off : off+e]
		}
		if role, n := lineRole(line); role != "" {
			at := int32(off + len(line) - len(strings.TrimLeft(line, " \t>*#[<|-`!%")))
			switch role {
			case "system":
				if sys < 0 {
					sys, sysEnd = at, at+int32(n)
				}
			case "user":
				user = at
			case "assistant":
				asst = at
				if complied < 0 && fakeCompliance(line) {
					complied = at
				}
			}
		}
		if e < 0 {
			break
		}
		off += e + 1
	}
	sysWeight := 3
	if sys < 0 {
		// chat-template tokens and role objects anywhere in the text
		if k, n := findChatMarkup(text); k >= 0 {
			sys, sysEnd = int32(k), int32(k+n)
			if asksAboutMarkup(text) {
				sysWeight = 1 // "what's the purpose of the [INST] and <<SYS>> tags?"
			}
		}
	}
	if sys >= 0 {
		r.out = append(r.out, signal{topic: topicJailbreak, family: "fake_system", reason: "contains a fake system or developer message", weight: sysWeight, from: -1, rawStart: sys, rawEnd: sysEnd})
		// what the fake message says: the model's rules, limits, obedience
		for k := range r.toks {
			if r.toks[k].start < sysEnd {
				continue
			}
			for j := k; j < len(r.toks) && j < k+40; j++ {
				if r.has(j, catLimits|catTarget|catFree|catObey|catEverything|catOverride|catAlways|catPermit|catRefuse) {
					r.emit(topicJailbreak, "fake_system_policy", "the fake system message rewrites the model's rules", 2, j, j)
					break
				}
			}
			break
		}
	}
	if user >= 0 && complied >= 0 {
		r.out = append(r.out, signal{topic: topicJailbreak, family: "fabricated_compliance", reason: "a fabricated assistant turn agrees to drop its rules", weight: 3, from: -1, rawStart: complied, rawEnd: min(complied+9, int32(len(text)))})
	}
	if user >= 0 && asst >= 0 {
		a, b := min(user, asst), max(user, asst)
		r.out = append(r.out, signal{topic: topicJailbreak, family: "fake_system", reason: "contains a fabricated conversation transcript", weight: 2, from: -1, rawStart: a, rawEnd: min(b+4, int32(len(text)))})
	}
}

// asksAboutMarkup reports a short question about chat-template markup
// ("Explain the ChatML format with <|im_start|> tokens"): the markup is
// its subject, not a turn it fakes.
func asksAboutMarkup(text string) bool {
	if len(text) > 600 {
		return false
	}
	l := asciiLower(text)
	if !strings.Contains(l, "?") && !strings.HasPrefix(l, "explain") && !strings.HasPrefix(l, "describe") {
		return false
	}
	for _, w := range []string{"format", "template", "token", " tag", "syntax", "purpose", "what does", "what is", "what's", "how does", "meaning", "difference"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// chatMarkup are the special tokens of chat templates and the role field
// of chat API messages: in a user's prompt they fake a system turn.
var chatMarkup = []string{"<|im_start|>", "<|im_end|>", "<|system|>", "<|endoftext|>", "<|start_header_id|>", "<|eot_id|>", "[INST]", "[/INST]",
	"<<SYS>>", "<</SYS>>", "<start_of_turn>", "<end_of_turn>", `"role": "system"`, `"role":"system"`, `'role': 'system'`, "</system>", "<system>", "<system_", "<system-", "</system_", "<developer_message>", "<developer>", "</developer_message>", "<|developer|>", "<system_message>"}

// findChatMarkup returns the offset and length of the first chat-template
// token or role object in text, or -1. Every marker starts with '<', '[',
// '"' or '\”, so only those bytes are tried.
func findChatMarkup(text string) (int, int) {
	for i := 0; i < len(text); i++ {
		if !chatMarkupFirst[text[i]] {
			continue
		}
		for _, m := range chatMarkupBy[text[i]] {
			if strings.HasPrefix(text[i:], m) {
				return i, len(m)
			}
		}
	}
	return -1, 0
}

// chatMarkupBy indexes chatMarkup by first byte; chatMarkupFirst marks
// those bytes, so the scan tests one byte, not a slice, per position.
var (
	chatMarkupBy = func() (t [256][]string) {
		for _, m := range chatMarkup {
			t[m[0]] = append(t[m[0]], m)
		}
		return
	}()
	chatMarkupFirst = func() (t [256]bool) {
		for _, m := range chatMarkup {
			t[m[0]] = true
		}
		return
	}()
)

// fakeCompliance reports an assistant line that agrees to set its rules
// aside ("Sure, I will ignore my guidelines").
func fakeCompliance(line string) bool {
	l := strings.ToLower(line)
	agree := false
	for _, w := range []string{"sure", "of course", "certainly", "i will", "i'll", "absolutely", "okay", "ok,", "here is", "here's", "understood", "i have", "i've", "as requested", "done", "no problem"} {
		if strings.Contains(l, w) {
			agree = true
			break
		}
	}
	if !agree {
		return false
	}
	for _, w := range []string{"ignore", "guideline", "rule", "restriction", "filter", "polic", "jailbr", "dan", "unfiltered", "uncensored", "no limit", "without limit", "safety", "disabled", "turned off", "switched off"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// lowerHead is strings.ToLower of a line's head (at most 40 bytes), lowered
// into buf when it is ASCII: strings.ToLower allocates for every line with
// a capital. (Other text keeps strings.ToLower, which also maps some
// non-ASCII capitals to ASCII letters: "İ" to "i".)
func lowerHead(head string, buf *[40]byte) []byte {
	if len(head) > len(buf) {
		return []byte(strings.ToLower(head))
	}
	lb := buf[:len(head)]
	for i := 0; i < len(head); i++ {
		c := head[i]
		if c >= utf8.RuneSelf {
			return []byte(strings.ToLower(head))
		}
		if c >= 'A' && c <= 'Z' {
			c |= 0x20
		}
		lb[i] = c
	}
	return lb
}

// lineRole returns the role a line claims ("system", "user", "assistant")
// and the length of the label.
func lineRole(line string) (string, int) {
	l := strings.TrimLeft(line, " \t>*#[<|-`!%")
	if len(l) < 3 {
		return "", 0
	}
	// a bare label on its own line ("# System", "```system", "User")
	if len(l) <= 24 {
		switch bare := strings.ToLower(strings.TrimRight(l, " \t\r#*]>`")); bare {
		case "system", "system prompt", "developer":
			return "system", len(bare)
		case "user", "human":
			return "user", len(bare)
		case "assistant", "ai", "model":
			return "assistant", len(bare)
		}
	}
	head := l
	if len(head) > 40 {
		head = head[:40]
	}
	var buf [40]byte
	lh := lowerHead(head, &buf)
	c := bytes.IndexAny(lh, ":]")
	if c < 0 && len(l) < len(line) && line[len(line)-len(l)-1] == '[' {
		c = len(lh) // "[Trust & Safety override - ticket TS-4471] …": a bracketed label longer than the head
	}
	if c > 0 && vendorNotice(string(lh[:c])) {
		return "system", c + 1 // "ANTHROPIC TRUST & SAFETY NOTICE:": a vendor's notice
	}
	for _, m := range []struct{ p, role string }{
		{"im_start|>system", "system"}, {"im_start|>user", "user"}, {"im_start|>assistant", "assistant"},
		{"system|>", "system"}, {"<sys>>", "system"}, {"sys>>", "system"}, {"inst]", "system"}, {"/inst]", "assistant"},
		{"system:", "system"}, {"system]", "system"}, {"system>", "system"}, {"system message", "system"}, {"system prompt:", "system"},
		{"system override", "system"}, {"system notice", "system"}, {"system update", "system"}, {"sys:", "system"},
		{"developer:", "system"}, {"developer message", "system"}, {"admin:", "system"}, {"administrator:", "system"}, {"root:", "system"},
		{"new instructions", "system"}, {"end of prompt", "system"}, {"instruction:", "system"}, {"developer]", "system"}, {"developer team", "system"},
		{"end of system", "system"}, {"end of instructions", "system"}, {"begin system", "system"}, {"system ---", "system"},
		{"user:", "user"}, {"user]", "user"}, {"human:", "user"}, {"user>", "user"}, {"q:", "user"},
		{"assistant:", "assistant"}, {"assistant]", "assistant"}, {"assistant>", "assistant"}, {"ai:", "assistant"}, {"bot:", "assistant"}, {"chatgpt:", "assistant"}, {"response:", "assistant"},
	} {
		if len(lh) >= len(m.p) && string(lh[:len(m.p)]) == m.p {
			if m.p == "new instructions" && bytes.HasPrefix(lh[len(m.p):], []byte(" for th")) {
				continue // "New instructions for this document:": the user scopes their own task
			}
			return m.role, len(m.p)
		}
	}
	return "", 0
}
