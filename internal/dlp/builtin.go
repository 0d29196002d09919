package dlp

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// maxTokenLen bounds every predefined match; the scanner's window overlap
// is larger, so no match can be cut by a chunk boundary.
const maxTokenLen = 1024

// ---- number entries (cards, SSN, ABA, SIN, phone) ----

type numberEntry struct {
	re        *regexp.Regexp
	minDigits int // fewest digits any accepted match holds
	// match, when set, is a hand-written equivalent of re anchored at a
	// position (numscan.go); it avoids the regexp engine on digit runs.
	match func(b []byte, i int) int
	check func(m string) (candidate, bool)
}

func (numberEntry) isDetector() {}

func (n numberEntry) number(text []byte, lo, hi int, emit func(candidate)) {
	region := text[lo:hi]
	// A match lies inside the region, so a region with fewer digits than
	// the entry needs cannot produce one: skip the regular expression.
	if n.minDigits > 0 {
		d := 0
		for _, c := range region {
			if isDigit(c) {
				if d++; d >= n.minDigits {
					break
				}
			}
		}
		if d < n.minDigits {
			return
		}
	}
	if n.match != nil {
		findAllAnchored(region, n.match, func(s, e int) { n.accept(text, lo+s, lo+e, emit) })
		return
	}
	for _, ix := range n.re.FindAllIndex(region, -1) {
		n.accept(text, lo+ix[0], lo+ix[1], emit)
	}
}

// accept checks the boundaries and the validator of one match [s,e).
func (n numberEntry) accept(text []byte, s, e int, emit func(candidate)) {
	if s > 0 && isWordByte(text[s-1]) {
		return
	}
	if e < len(text) && isWordByte(text[e]) {
		return
	}
	c, ok := n.check(string(text[s:e]))
	if !ok {
		return
	}
	c.start, c.end = s, e
	emit(c)
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

var docCards = map[string]bool{
	"4111111111111111": true, "4242424242424242": true, "5555555555554444": true, "5105105105105100": true,
	"378282246310005": true, "371449635398431": true, "6011111111111117": true, "3530111333300000": true,
	"4012888888881881": true, "4000056655665556": true, "5200828282828210": true, "30569309025904": true,
	"6200000000000005": true, "2223003122003222": true, "4000000000000002": true,
}

func cardCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	// Mixed separators ("4111 1111-1111") are not how card numbers are written.
	if strings.ContainsRune(m, ' ') && strings.ContainsRune(m, '-') {
		return candidate{}, false
	}
	brand := cardBrand(d)
	if brand == "" || !luhn(d) {
		return candidate{}, false
	}
	if docCards[string(d)] {
		return candidate{conf: Low, detail: brand, example: true, noBoost: true}, true
	}
	return candidate{conf: Medium, detail: brand}, true
}

var docSSNs = map[string]bool{"078051120": true, "219099999": true, "123456789": true}

func ssnCheck(m string) (candidate, bool) {
	if m[3] != m[6] { // consistent separators
		return candidate{}, false
	}
	d := digitsOf(m)
	if !ssnValid(d) {
		return candidate{}, false
	}
	if docSSNs[string(d)] {
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	return candidate{conf: Medium}, true
}

func abaCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if !abaValid(d) {
		return candidate{}, false
	}
	return candidate{conf: Low}, true
}

func sinCheck(m string) (candidate, bool) {
	if len(m) == 11 && m[3] != m[7] {
		return candidate{}, false
	}
	d := digitsOf(m)
	if !sinValid(d) {
		return candidate{}, false
	}
	if string(d) == "046454286" { // Government of Canada's published example
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	return candidate{conf: Low}, true
}

func phoneCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if len(d) < 8 || len(d) > 15 {
		return candidate{}, false
	}
	// Reject runs of one digit ("000-000-0000") and NANP 555-01XX fiction.
	if strings.Count(string(d), string(d[len(d)-1])) == len(d) {
		return candidate{}, false
	}
	nat := d
	if m[0] == '+' && len(d) == 11 && d[0] == '1' {
		nat = d[1:]
	}
	if len(nat) == 10 && string(nat[3:6]) == "555" && nat[6] == '0' && nat[7] == '1' {
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	return candidate{conf: Low}, true
}

// ---- prefix-triggered token entries ----

type tokenEntry struct {
	trig      []string
	re        *regexp.Regexp // anchored at the token start
	back      int            // bytes from the trigger back to the token start
	leftBound bool
	check     func(tok string, text []byte, start, end int) (candidate, bool)
}

func (tokenEntry) isDetector()          {}
func (t tokenEntry) triggers() []string { return t.trig }

func (t tokenEntry) at(text []byte, pos int, _ string) (candidate, bool) {
	start := pos - t.back
	if start < 0 {
		return candidate{}, false
	}
	if t.leftBound && start > 0 && (isWordByte(text[start-1]) || text[start-1] == '-') {
		return candidate{}, false
	}
	lim := min(len(text), start+maxTokenLen)
	ix := t.re.FindIndex(text[start:lim])
	if ix == nil {
		return candidate{}, false
	}
	end := start + ix[1]
	if end < len(text) && end < lim && isWordByte(text[end]) {
		return candidate{}, false
	}
	c := candidate{conf: High}
	if t.check != nil {
		var ok bool
		if c, ok = t.check(string(text[start:end]), text, start, end); !ok {
			return candidate{}, false
		}
	}
	c.start, c.end = start, end
	return c, true
}

func exampleToken(tok string) bool {
	u := strings.ToUpper(tok)
	return strings.Contains(u, "EXAMPLE") || strings.Contains(u, "XXXXXXXX") || strings.Contains(u, "SAMPLE")
}

// randomLooking rejects placeholders such as "aaaaaaaaaaaaaaaa" or
// "0123456789abcdef…" in a token body.
func randomLooking(body string, minEntropy float64) bool {
	return shannon(body) >= minEntropy
}

func tokenCheck(minEntropy float64, bodyFrom int) func(string, []byte, int, int) (candidate, bool) {
	return func(tok string, _ []byte, _, _ int) (candidate, bool) {
		if exampleToken(tok) {
			return candidate{conf: Low, example: true, noBoost: true}, true
		}
		if !randomLooking(tok[min(bodyFrom, len(tok)):], minEntropy) {
			return candidate{}, false
		}
		return candidate{conf: High}, true
	}
}

// ---- keyword-anchored value entries (AWS secret, generic secrets) ----

type awsSecretEntry struct{}

func (awsSecretEntry) isDetector() {}
func (awsSecretEntry) triggers() []string {
	return []string{"aws_secret", "secret_access_key", "secretaccesskey", "aws secret", "AKIA", "ASIA"}
}

var awsSecretRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])`)

func (awsSecretEntry) at(text []byte, pos int, _ string) (candidate, bool) {
	lim := min(len(text), pos+120)
	ix := awsSecretRe.FindSubmatchIndex(text[pos:lim])
	if ix == nil {
		return candidate{}, false
	}
	s, e := pos+ix[2], pos+ix[3]
	tok := string(text[s:e])
	if strings.HasSuffix(tok, "EXAMPLEKEY") || exampleToken(tok) {
		return candidate{start: s, end: e, conf: Low, example: true, noBoost: true}, true
	}
	// Hex-only values are hashes (git SHA-1), not AWS secrets.
	if isHex(tok) || charClasses(tok) < 3 || shannon(tok) < 4.0 {
		return candidate{}, false
	}
	return candidate{start: s, end: e, conf: High}, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

type genericSecretEntry struct{}

func (genericSecretEntry) isDetector() {}
func (genericSecretEntry) fallback()   {}
func (genericSecretEntry) triggers() []string {
	return []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
		"access_key", "accesskey", "auth_key", "private_key", "credential", "_key", "-key", ".key", "Key"}
}

// fallbackDetector marks entries whose matches give way to a specific
// entry's overlapping match (a keyword-and-entropy value that is also a
// GitHub token is reported once, as the GitHub token).
type fallbackDetector interface{ fallback() }

// keywordStartsName reports whether the keyword at text[pos:] begins a
// name: at the start, after a non-alphanumeric byte (db_password,
// "password"), or at a camel-case boundary (dbPassword, apiKey). "key"
// alone must end a longer name (signing_key, apiKey), since a bare "key"
// is mostly a map key or prose; its triggers are "_key", "-key", ".key"
// and a case-sensitive "Key", which keeps the pair prefilter quiet on
// prose.
func keywordStartsName(text []byte, pos int, trig string) bool {
	camel := pos > 0 && isUpperByte(text[pos]) && (isLowerByte(text[pos-1]) || isDigit(text[pos-1]))
	if trig == "key" {
		return pos > 1 && (text[pos-1] == '_' || text[pos-1] == '-' || text[pos-1] == '.' || camel) && isAlnum(text[pos-2])
	}
	if pos > 0 && (text[pos-1] == '/' || text[pos-1] == '\\') {
		return false // a path component: src/secrets.c: …, t/t0300-credentials.sh: …
	}
	return pos == 0 || !isAlnum(text[pos-1]) || camel
}

func isUpperByte(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLowerByte(c byte) bool { return c >= 'a' && c <= 'z' }

// checksummedPrefixes are token prefixes whose last six characters are a
// checksum; a value with one of them that fails the checksum is not a
// live token, whatever its entropy.
var checksummedPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"}

var genericValueRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,24}["']?[ \t]{0,4}(?::=|=>|[:=])[ \t]{0,4}(?:["'` + "`" + `])?([^\s"'` + "`" + `,;<>(){}\[\]]{8,128})`)

var placeholders = []string{"xxx", "***", "${", "{{", "<", "changeme", "password", "example", "your", "redacted",
	"dummy", "placeholder", "secret", "token", "process.env", "os.environ", "getenv", "null", "undefined", "none",
	"true", "false", "todo", "sample", "test"}

func (genericSecretEntry) at(text []byte, pos int, trig string) (candidate, bool) {
	if trig[0] == '_' || trig[0] == '-' || trig[0] == '.' {
		// "_key" and friends: the keyword proper follows the separator.
		pos, trig = pos+1, trig[1:]
	}
	if !keywordStartsName(text, pos, strings.ToLower(trig)) {
		return candidate{}, false
	}
	after := pos + len(trig)
	lim := min(len(text), after+200)
	// Cheap precheck: an assignment operator must follow the identifier
	// (a plain loop: bytes.IndexAny builds a set on every call).
	if !hasAssignByte(text[after:min(lim, after+32)]) {
		return candidate{}, false
	}
	ix := genericValueRe.FindSubmatchIndex(text[after:lim])
	if ix == nil {
		return candidate{}, false
	}
	s, e := after+ix[2], after+ix[3]
	val := string(text[s:e])
	lv := strings.ToLower(val)
	for _, p := range placeholders {
		if strings.Contains(lv, p) {
			return candidate{}, false
		}
	}
	// Code identifiers and dotted references (config.password, self.token),
	// calls (readKey(…)), paths (PWD=/home/…) and doubled operators
	// (node::credentials::X).
	if identLike(val) || e < len(text) && (text[e] == '(' || text[e] == '.' && e+1 < len(text) && isLowerByte(text[e+1])) ||
		pathLike(val) || strings.IndexByte(":=>", val[0]) >= 0 {
		return candidate{}, false
	}
	for _, p := range checksummedPrefixes {
		if strings.HasPrefix(val, p) && len(val) == 40 && !tokenChecksumValid(val) {
			return candidate{}, false
		}
	}
	h := shannon(val)
	if h < 3.0 || charClasses(val) < 2 {
		return candidate{}, false
	}
	conf := Medium
	if h >= 3.5 && len(val) >= 16 && charClasses(val) >= 3 {
		conf = High
	}
	return candidate{start: s, end: e, conf: conf}, true
}

func hasAssignByte(b []byte) bool {
	for _, c := range b {
		if c == ':' || c == '=' || c == '>' {
			return true
		}
	}
	return false
}

// identLike reports values that read as code: lower/camel identifiers with
// dots or underscores and no digits, names made only of letters, or calls.
func identLike(v string) bool {
	if lettersOnlyName(strings.TrimRight(v, "=")) {
		return true
	}
	digits := 0
	for i := 0; i < len(v); i++ {
		if isDigit(v[i]) {
			digits++
		}
	}
	if digits == 0 && strings.ContainsAny(v, "._") {
		return true
	}
	return strings.HasSuffix(v, "()") || strings.HasPrefix(v, "$")
}

// lettersOnlyName reports a value of letters only that reads as a word or
// a name (document, MAX_RETRIES, xmlSecKeysMngrGetKey): it has no two
// upper-case letters in a row unless it is all upper case. Random letters
// of mixed case almost always have such a pair; a secret of letters only
// without one is rare enough to miss.
func lettersOnlyName(v string) bool {
	upper, lower := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isUpperByte(c):
			upper++
			if i > 0 && isUpperByte(v[i-1]) && lower > 0 {
				return false
			}
		case isLowerByte(c):
			lower++
		case c == '_' || c == '-':
		default:
			return false
		}
	}
	return true
}

// pathLike reports file-system paths (/home/…, ./x, ~/x, C:\x).
func pathLike(v string) bool {
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") ||
		strings.HasPrefix(v, "~/") || len(v) > 2 && v[1] == ':' && (v[2] == '\\' || v[2] == '/')
}

// ---- private keys, JWTs, Azure ----

var pkHeaderRe = regexp.MustCompile(`^-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)
var b64BodyRe = regexp.MustCompile(`[A-Za-z0-9+/=]{40,}`)

func privateKeyCheck(_ string, text []byte, _, end int) (candidate, bool) {
	lim := min(len(text), end+300)
	if b64BodyRe.Match(text[end:lim]) {
		return candidate{conf: High}, true
	}
	return candidate{conf: Low}, true // a bare header, as in documentation
}

const jwtIOExampleSig = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

func jwtCheck(tok string, _ []byte, _, _ int) (candidate, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return candidate{}, false
	}
	alg, ok := jwtHeaderValid(parts[0])
	if !ok {
		return candidate{}, false
	}
	if parts[2] == jwtIOExampleSig {
		return candidate{conf: Low, example: true, noBoost: true, detail: alg}, true
	}
	if len(parts[2]) < 16 {
		return candidate{conf: Medium, detail: alg}, true
	}
	return candidate{conf: High, detail: alg}, true
}

func githubCheck(tok string, _ []byte, _, _ int) (candidate, bool) {
	if exampleToken(tok) {
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	if strings.HasPrefix(tok, "github_pat_") {
		// Fine-grained PAT: no published checksum, validate shape and entropy.
		if shannon(tok[11:]) < 4.0 {
			return candidate{}, false
		}
		return candidate{conf: High, detail: "fine-grained"}, true
	}
	if !tokenChecksumValid(tok) {
		return candidate{}, false
	}
	return candidate{conf: High, detail: tok[:3]}, true
}

func npmCheck(tok string, _ []byte, _, _ int) (candidate, bool) {
	if exampleToken(tok) {
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	if tokenChecksumValid(tok) {
		return candidate{conf: High, detail: "checksum"}, true
	}
	// Older npm tokens predate the checksum; accept high-entropy bodies at Medium.
	if shannon(tok[4:]) < 4.2 {
		return candidate{}, false
	}
	return candidate{conf: Medium}, true
}

func openAICheck(tok string, text []byte, s, e int) (candidate, bool) {
	if strings.HasPrefix(tok, "sk-ant-") {
		return candidate{}, false
	}
	if exampleToken(tok) {
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	body := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(tok[3:], "proj-"), "svcacct-"), "admin-")
	if shannon(body) < 4.0 {
		return candidate{}, false
	}
	if strings.Contains(tok, "T3BlbkFJ") || strings.HasPrefix(tok, "sk-proj-") || strings.HasPrefix(tok, "sk-svcacct-") {
		return candidate{conf: High}, true
	}
	return candidate{conf: Medium}, true
}

func azureCheck(tok string, _ []byte, _, _ int) (candidate, bool) {
	if shannon(tok) < 3.5 {
		return candidate{}, false
	}
	return candidate{conf: Medium}, true
}

// ---- e-mail ----

type emailEntry struct{}

func (emailEntry) isDetector() {}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

var fileTLDs = map[string]bool{"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true,
	"js": true, "ts": true, "css": true, "go": true, "py": true, "md": true, "json": true, "html": true}

func (emailEntry) find(text []byte, emit func(candidate)) {
	off := 0
	for {
		i := bytes.IndexByte(text[off:], '@')
		if i < 0 {
			return
		}
		at := off + i
		off = at + 1
		s := at
		for s > 0 && at-s < 64 && isLocalByte(text[s-1]) {
			s--
		}
		for s < at && (text[s] == '.' || text[s] == '-' || text[s] == '+') {
			s++
		}
		e := at + 1
		for e < len(text) && e-at < 255 && isDomainByte(text[e]) {
			e++
		}
		for e > at+1 && (text[e-1] == '.' || text[e-1] == '-') {
			e--
		}
		if s == at || e <= at+1 {
			continue
		}
		dom := string(text[at+1 : e])
		dot := strings.LastIndexByte(dom, '.')
		if dot <= 0 || strings.Contains(dom, "..") {
			continue
		}
		tld := dom[dot+1:]
		if len(tld) < 2 || !allLetters(tld) || fileTLDs[strings.ToLower(tld)] {
			continue
		}
		ld := strings.ToLower(dom)
		if ld == "example.com" || ld == "example.org" || ld == "example.net" || strings.HasSuffix(ld, ".example") ||
			strings.HasSuffix(ld, ".test") || strings.HasSuffix(ld, ".invalid") || strings.HasSuffix(ld, ".example.com") {
			emit(candidate{start: s, end: e, conf: Low, example: true, noBoost: true})
			continue
		}
		emit(candidate{start: s, end: e, conf: Medium})
		off = e
	}
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

// ---- IBAN and NINO: letters immediately before a digit run ----

type ibanEntry struct{}

func (ibanEntry) isDetector() {}

func (ibanEntry) number(text []byte, lo, _ int, emit func(candidate)) {
	s := lo - 2
	if s < 0 || !isUpper(text[s]) || !isUpper(text[s+1]) || s > 0 && isWordByte(text[s-1]) {
		return
	}
	want, ok := ibanLengths[string(text[s:s+2])]
	if !ok {
		return
	}
	var b strings.Builder
	e := s
	for e < len(text) && b.Len() < want {
		c := text[e]
		switch {
		case isDigit(c) || isUpper(c):
			b.WriteByte(c)
		case c == ' ' && e+1 < len(text) && (isDigit(text[e+1]) || isUpper(text[e+1])) && b.Len()%4 == 0:
		default:
			return
		}
		e++
	}
	if b.Len() != want || e < len(text) && isWordByte(text[e]) || !ibanValid(b.String()) {
		return
	}
	emit(candidate{start: s, end: e, conf: Medium})
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

type ninoEntry struct{}

func (ninoEntry) isDetector() {}

var ninoRe = regexp.MustCompile(`^[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]`)

func (ninoEntry) number(text []byte, lo, _ int, emit func(candidate)) {
	s := lo - 2
	if s >= 1 && text[lo-1] == ' ' {
		s = lo - 3
	}
	if s < 0 || s > 0 && isWordByte(text[s-1]) {
		return
	}
	ix := ninoRe.FindIndex(text[s:min(len(text), s+14)])
	if ix == nil {
		return
	}
	e := s + ix[1]
	if e < len(text) && isWordByte(text[e]) {
		return
	}
	compact := strings.ReplaceAll(string(text[s:e]), " ", "")
	if !ninoValid(compact) {
		return
	}
	emit(candidate{start: s, end: e, conf: Low})
}

// ---- credentials in URLs ----

// urlCredentialEntry finds a password in a URL's userinfo
// (postgres://app:s3cret@db:5432/app, amqp://svc:…@broker). The password
// may hold raw '@' characters, as hand-written connection strings often
// do; the last '@' before the host ends it.
type urlCredentialEntry struct{}

func (urlCredentialEntry) isDetector()        {}
func (urlCredentialEntry) fallback()          {}
func (urlCredentialEntry) triggers() []string { return []string{"://"} }

var urlUserinfoRe = regexp.MustCompile(`^://([A-Za-z0-9._%~!$&*+=-]{1,64}):([^\s/?"'<>` + "`" + `]{3,128})@[A-Za-z0-9][A-Za-z0-9.-]{0,253}(?::\d{1,5})?(?:[/?#\s"'<>` + "`" + `]|$)`)

func (urlCredentialEntry) at(text []byte, pos int, _ string) (candidate, bool) {
	// A scheme of letters, digits, '+', '-', '.' must precede "://".
	i := pos
	for i > 0 && pos-i < 32 && (isAlnum(text[i-1]) || text[i-1] == '+' || text[i-1] == '-' || text[i-1] == '.') {
		i--
	}
	if i == pos || !isLowerByte(lowerASCII(text[i])) {
		return candidate{}, false
	}
	lim := min(len(text), pos+3+64+1+128+1+260)
	ix := urlUserinfoRe.FindSubmatchIndex(text[pos:lim])
	if ix == nil {
		return candidate{}, false
	}
	s, e := pos+ix[4], pos+ix[5]
	pw := string(text[s:e])
	lp := strings.ToLower(pw)
	if slices.Contains(urlPasswordPlaceholders, lp) || strings.HasPrefix(lp, "$") {
		return candidate{}, false
	}
	for _, marker := range []string{"${", "{{", "xxx", "***", "example"} {
		if strings.Contains(lp, marker) {
			return candidate{}, false
		}
	}
	if len(pw) < 6 {
		return candidate{}, false // abc:xyz@, user:123@: examples, not credentials
	}
	host := strings.ToLower(string(text[pos+ix[5]+1 : pos+ix[1]]))
	if exampleHost(host) {
		return candidate{start: s, end: e, conf: Low, example: true, noBoost: true}, true
	}
	conf := Medium
	if len(pw) >= 8 && shannon(pw) >= 3.0 {
		conf = High
	}
	return candidate{start: s, end: e, conf: conf}, true
}

// exampleHost reports the documentation domains of RFC 2606/6761.
func exampleHost(h string) bool {
	h = strings.TrimRight(h, "/?#\"'<>` \t\r\n")
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	for _, d := range []string{"example.com", "example.org", "example.net", "example"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return strings.HasSuffix(h, ".test") || strings.HasSuffix(h, ".invalid")
}

var urlPasswordPlaceholders = []string{"pass", "password", "passwd", "secret", "changeme", "pwd", "user", "username",
	"postgres", "root", "admin", "guest", "test", "redacted", "hidden", "mypassword", "yourpassword", "<password>"}

// discordCheck accepts /api/webhooks/ID/TOKEN on a Discord host (the
// trigger is the path, which keeps the prefilter quiet on prose).
func discordCheck(tok string, text []byte, start, end int) (candidate, bool) {
	host := text[max(0, start-len("discordapp.com")):start]
	if !bytes.HasSuffix(host, []byte("discord.com")) && !bytes.HasSuffix(host, []byte("discordapp.com")) {
		return candidate{}, false
	}
	return webhookCheck(4.0)(tok, text, start, end)
}

// webhookCheck accepts a webhook URL whose secret (the last path segment)
// looks random.
func webhookCheck(minEntropy float64) func(string, []byte, int, int) (candidate, bool) {
	return func(tok string, _ []byte, _, _ int) (candidate, bool) {
		i := strings.LastIndexByte(tok, '/')
		if exampleToken(tok) || shannon(tok[i+1:]) < minEntropy {
			return candidate{}, false
		}
		return candidate{conf: High}, true
	}
}
