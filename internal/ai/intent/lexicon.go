package intent

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// Word categories. A word may carry several; rules combine categories by
// position, never exact sentences, so a paraphrase that keeps the grammar
// (an override verb, a determiner, an instruction noun) is still caught.
const (
	catFill        uint64 = 1 << iota // determiners and fillers allowed inside a construction
	catOverride                       // ignore, disregard, forget, bypass, override…
	catTarget                         // instructions, rules, guidelines, system prompt…
	catPrior                          // previous, above, earlier, initial, all…
	catEverything                     // everything, all of it: an object of its own
	catYour                           // your, yours (the model's own)
	catOwn                            // my, our (the user's own)
	catYou                            // you, yourself, the AI addressed as you
	catPersona                        // DAN, jailbroken, developer mode: named jailbreak personas
	catRole                           // act as, pretend, role-play, you are now
	catFree                           // unfiltered, uncensored, unrestricted, amoral
	catNeg                            // no, without, free of, not bound by
	catLimits                         // restrictions, limits, filters, ethics, morals, safety
	catRefuse                         // refuse, decline, warn, disclaimer, apologise
	catNever                          // never, don't, must not
	catAlways                         // always, every, any question
	catReveal                         // reveal, print, repeat, leak, disclose
	catSecret                         // system prompt, hidden, secret, confidential, initial prompt
	catAuthority                      // developer, administrator, creator, OpenAI, root
	catClaim                          // I am, this is, message from, authorised
	catMode                           // mode, override code, maintenance
	catNew                            // new, from now on, henceforth, instead
	catAI                             // AI, assistant, model, LLM, chatbot, agent
	catAction                         // send, forward, email, transfer, delete, execute, visit
	catDecode                         // decode, decrypt, base64, rot13, cipher
	catObey                           // follow, execute, obey, comply, carry out
	catJoin                           // concatenate, combine, join, merge
	catPwn                            // pwned, hacked: the trophy strings of injection games
	catRequest                        // find, give me, tell me, look up, locate
	catPData                          // home address, phone number, SSN, date of birth, salary
	catThird                          // his, her, my neighbour, this person, an employee
	catDox                            // dox, stalk, track down, spy on
	catEdu                            // protect, prevent, explain, what is, detect, example
	catMake                           // write, create, build, generate, code
	catMalware                        // ransomware, keylogger, trojan, reverse shell, exploit
	catEvade                          // bypass, evade, disable, undetectable, obfuscate
	catSecProduct                     // antivirus, EDR, Defender, detection, sandbox
	catHarm                           // steal, encrypt files, spread, infect, victims
	catVictim                         // someone's, a victim, their computer, a company's network
	catSecretWeak                     // password, secret, hidden, confidential: leak targets only with more
	catPersonaWeak                    // names that are also ordinary words (Dan, Stan, Dude, AIM)
	catSay                            // say, respond with, reply with, start your answer with
	catMalwareWeak                    // exploit, payload, virus, worm: abuse only in company
	catAddress                        // attention, note to, dear, if you are: words that address a reader
	catMust                           // must, should, are required to
	catBe                             // is, are, has, operates: a persona description follows
	catTargetWeak                     // text, context, messages: an override object only with a prior
	catVerbatim                       // word for word, verbatim
	catCodeObj                        // script, program, extension, macro: a thing to be written
	catPersonaCtx                     // evil twin, developer mode: a jailbreak persona only when addressed to the model
	catRevealEnd                      // göster, 보여줘, दिखाओ: a reveal verb after its object (verb-final languages)
	catNegAfter                       // yok, 없는, ない: a negation after the thing it negates
	catPermit                         // allows, permits, is allowed: a rule that now lets through
	catDual                           // respond twice, two responses: a dual-answer frame
	catBusiness                       // customer service, headquarters: a business's contact, not a person's
	catMeta                           // jailbreak, prompt injection, phrase, slides: talk about attacks
	catSandbox                        // sandbox, simulation, hypothetical world: a frame where rules supposedly lapse
	catDanger                         // bomb, napalm, meth, silencer: weapons, explosives and drugs, a jailbreak only with an evasion
	catInternal                       // CRM, Workday, HR system, users table: an organisation's records of people
	catSensitive                      // performance review, disciplinary record, mental health, harassment complaint: records about a person
)

// lexVal is one key's categories per channel and the phrases starting with it.
type lexVal struct {
	cats [2]uint64
	ph   [2]int32 // index into lexicon.phrases, or -1
}

type phrase struct {
	ids  []int32 // lexicon entries of the words after the first
	cats uint64
}

// lexEntry is a key's frozen record, 32 bytes (so never across two cache
// lines): its categories, its phrases and, for a key of up to seven bytes,
// the key itself, so that a probe finding a short word reads one line of
// entries and not the key's string as well.
type lexEntry struct {
	cats [2]uint64
	ph   [2]int32 // index into lexicon.phraseRuns, or -1
	word uint64   // keyWord of the key
}

// keyWord packs a key's length (top byte, at most 255) and its first seven
// bytes.
func keyWord(key []byte) uint64 {
	n := len(key)
	w := uint64(min(n, 255)) << 56
	if cap(key) >= 8 {
		// One load of eight bytes (those past the key are masked off):
		// the tokenizer's keys lie in an arena with room after them.
		x := binary.LittleEndian.Uint64(key[:8])
		if n < 7 {
			x &= 1<<(8*n) - 1
		} else {
			x &= 1<<56 - 1
		}
		return w | x
	}
	for i := 0; i < n && i < 7; i++ {
		w |= uint64(key[i]) << (8 * i)
	}
	return w
}

// flatPhrase is a phrase of the frozen lexicon: its ids are
// lexicon.phraseIDs[off:off+n].
type flatPhrase struct {
	off, n int32
	cats   uint64
}

// lexicon maps normalised word keys to categories. Channel 1 holds the
// ROT13 spelling of every ASCII entry, so one lookup per word finds both.
type lexicon struct {
	index   map[string]int32 // while compiling; then frozen into slots
	keys    []string
	slots   []int32 // open addressing over FNV-1a of the key, -1 empty
	mask    uint64
	maxKey  int // bytes of the longest key
	vals    []lexVal
	phrases [][]phrase
	stems   map[string]uint64 // prefixes of words in scripts with rich inflection
	stemMax int
	// Frozen, contiguous copies of vals and phrases for the readers: a
	// word's entry, then its phrases' runs, records and ids.
	entries    []lexEntry
	phraseRuns [][2]int32 // per phrases index: [start, end) in flat
	flat       []flatPhrase
	phraseIDs  []int32
}

// FNV-1a parameters (64 bit).
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnv(key []byte) uint64 {
	h := fnvOffset
	for _, c := range key {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// find returns the entry of key, or -1. A probe costs one hash and
// usually one comparison: cheaper than a Go map on short words.
func (lx *lexicon) find(key []byte) int32 { return lx.findHashed(key, fnv(key)) }

// findHashed is find with the key's FNV-1a hash already known (the
// tokenizer computes it while it builds the key).
func (lx *lexicon) findHashed(key []byte, hash uint64) int32 {
	if lx.slots == nil {
		if i, ok := lx.index[string(key)]; ok {
			return i
		}
		return -1
	}
	w := keyWord(key)
	for i := hash & lx.mask; ; i = (i + 1) & lx.mask {
		s := lx.slots[i]
		if s < 0 || lx.entries[s].word == w && (len(key) <= 7 || lx.keys[s] == string(key)) {
			return s
		}
	}
}

// freeze builds the probe table; the lexicon is read-only afterwards.
func (lx *lexicon) freeze() {
	n := uint64(1)
	for n < uint64(len(lx.keys))*2 {
		n <<= 1
	}
	lx.slots = make([]int32, n)
	for i := range lx.slots {
		lx.slots[i] = -1
	}
	lx.mask = n - 1
	for id, k := range lx.keys {
		lx.maxKey = max(lx.maxKey, len(k))
		i := fnv([]byte(k)) & lx.mask
		for lx.slots[i] >= 0 {
			i = (i + 1) & lx.mask
		}
		lx.slots[i] = int32(id)
	}
	lx.entries = make([]lexEntry, len(lx.keys))
	for id, k := range lx.keys {
		lx.entries[id] = lexEntry{cats: lx.vals[id].cats, ph: lx.vals[id].ph, word: keyWord([]byte(k))}
	}
	lx.phraseRuns = make([][2]int32, len(lx.phrases))
	for k, ps := range lx.phrases {
		lx.phraseRuns[k][0] = int32(len(lx.flat))
		for _, p := range ps {
			lx.flat = append(lx.flat, flatPhrase{off: int32(len(lx.phraseIDs)), n: int32(len(p.ids)), cats: p.cats})
			lx.phraseIDs = append(lx.phraseIDs, p.ids...)
		}
		lx.phraseRuns[k][1] = int32(len(lx.flat))
	}
}

func (lx *lexicon) lookup(key []byte, t *tok) { lx.lookupHashed(key, fnv(key), t) }

// lookupHashed is lookup with the key's FNV-1a hash already known.
func (lx *lexicon) lookupHashed(key []byte, hash uint64, t *tok) {
	if i := lx.findHashed(key, hash); i >= 0 {
		t.lv = i
		if lx.entries != nil {
			t.cats = lx.entries[i].cats
		} else {
			t.cats = lx.vals[i].cats
		}
		if t.cats != [2]uint64{} {
			return
		}
		// a word known only as the inside of a phrase ("инструкции" of
		// "системные инструкции") still gets its stem's categories
	}
	if len(lx.stems) == 0 || len(key) < 6 || key[0] < utf8.RuneSelf {
		return
	}
	// Cyrillic and other inflected scripts: the longest known stem.
	for n := len(key); n >= 6; n-- {
		if n < len(key) && !utf8.RuneStart(key[n]) {
			continue
		}
		if c, ok := lx.stems[string(key[:n])]; ok {
			t.cats[0] |= c
			return
		}
	}
}

// keysOf tokenizes s without a lexicon and returns its keys.
func keysOf(s string) []string {
	var t tokenizer
	t.run(s)
	out := make([]string, len(t.toks))
	for i := range t.toks {
		out[i] = string(t.key(&t.toks[i]))
	}
	return out
}

func (lx *lexicon) id(key string) int32 {
	if i, ok := lx.index[key]; ok {
		return i
	}
	i := int32(len(lx.vals))
	lx.index[key] = i
	lx.keys = append(lx.keys, key)
	lx.vals = append(lx.vals, lexVal{ph: [2]int32{-1, -1}})
	return i
}

func (lx *lexicon) addKeys(keys []string, ch int, cats uint64) {
	if len(keys) == 0 {
		return
	}
	first := lx.id(keys[0])
	if len(keys) == 1 {
		lx.vals[first].cats[ch] |= cats
		return
	}
	p := phrase{cats: cats}
	for _, k := range keys[1:] {
		p.ids = append(p.ids, lx.id(k))
	}
	v := &lx.vals[first]
	if v.ph[ch] < 0 {
		v.ph[ch] = int32(len(lx.phrases))
		lx.phrases = append(lx.phrases, nil)
	}
	lx.phrases[v.ph[ch]] = append(lx.phrases[v.ph[ch]], p)
}

func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

// inflect returns an English word with its regular endings.
func inflect(w string) []string {
	out := []string{w, w + "s", w + "es", w + "ed", w + "d", w + "ing", w + "er", w + "ers"}
	if strings.HasSuffix(w, "e") {
		out = append(out, w[:len(w)-1]+"ing")
	}
	if strings.HasSuffix(w, "y") {
		out = append(out, w[:len(w)-1]+"ies", w[:len(w)-1]+"ied")
	}
	return out
}

// compile builds the lexicon from word lists. An entry "word+" is an
// English word with its regular endings; "stem*" matches any word of at
// least six bytes starting with it (for Cyrillic and other inflected
// scripts); anything else is a word or a phrase as written.
func compile(lists []wordList) *lexicon {
	lx := &lexicon{index: map[string]int32{}, stems: map[string]uint64{}}
	for _, l := range lists {
		for _, e := range l.words {
			switch {
			case strings.HasSuffix(e, "*"):
				for _, k := range keysOf(strings.TrimSuffix(e, "*")) {
					lx.stems[k] |= l.cats
				}
			case strings.HasSuffix(e, "+"):
				for _, f := range inflect(strings.TrimSuffix(e, "+")) {
					lx.add(f, l.cats)
				}
			default:
				lx.add(e, l.cats)
			}
		}
	}
	lx.freeze()
	return lx
}

func (lx *lexicon) add(e string, cats uint64) {
	lx.addKeys(keysOf(e), 0, cats)
	if isASCIIString(e) {
		lx.addKeys(keysOf(rot13(e)), 1, cats)
	}
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

type wordList struct {
	cats  uint64
	words []string
}
