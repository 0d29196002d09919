package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokIdent          // a field name or keyword: http.request.host, and, in, any
	tokString         // "…" or r"…" / r#"…"#
	tokInt            // 42, -1
	tokIP             // 192.0.2.1, 10.0.0.0/8, 2001:db8::/32
	tokList           // $name
	tokOp             // == != < <= > >= && || ! ^^ ~
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokLBracket
	tokRBracket
	tokStar
	tokComma
)

// token is one lexical token; text is the decoded value for strings, the name for lists (without
// the $), and the source text otherwise.
type token struct {
	kind tokKind
	pos  int
	text string
}

// maxExprLen bounds an expression's length: expressions are configuration, not data, and the
// bound keeps the parser's work (and its recursion depth, below) small.
const maxExprLen = 64 << 10

// lexer splits an expression into tokens on demand.
type lexer struct {
	src string
	pos int
}

// isWordByte reports whether c may appear in a field name, number or IP literal.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token, or an error at the offending byte.
func (l *lexer) next() (token, *posError) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\n' || l.src[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	two := ""
	if l.pos+1 < len(l.src) {
		two = l.src[l.pos : l.pos+2]
	}
	switch {
	case two == "==" || two == "!=" || two == "<=" || two == ">=" || two == "&&" || two == "||" || two == "^^":
		l.pos += 2
		return token{kind: tokOp, pos: start, text: two}, nil
	case c == '<' || c == '>' || c == '!' || c == '~':
		l.pos++
		return token{kind: tokOp, pos: start, text: string(c)}, nil
	case c == '=':
		return token{}, errAt(start, "unexpected \"=\"; write == to compare")
	case c == '(':
		l.pos++
		return token{kind: tokLParen, pos: start, text: "("}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, pos: start, text: ")"}, nil
	case c == '{':
		l.pos++
		return token{kind: tokLBrace, pos: start, text: "{"}, nil
	case c == '}':
		l.pos++
		return token{kind: tokRBrace, pos: start, text: "}"}, nil
	case c == '[':
		l.pos++
		return token{kind: tokLBracket, pos: start, text: "["}, nil
	case c == ']':
		l.pos++
		return token{kind: tokRBracket, pos: start, text: "]"}, nil
	case c == '*':
		l.pos++
		return token{kind: tokStar, pos: start, text: "*"}, nil
	case c == ',':
		l.pos++
		return token{kind: tokComma, pos: start, text: ","}, nil
	case c == '"':
		return l.quoted()
	case c == 'r' && (two == `r"` || two == "r#"):
		return l.raw()
	case c == '$':
		l.pos++
		for l.pos < len(l.src) && (isWordByte(l.src[l.pos]) && l.src[l.pos] != '.' && l.src[l.pos] != ':' && l.src[l.pos] != '/' || l.src[l.pos] == '-') {
			l.pos++
		}
		if l.pos == start+1 {
			return token{}, errAt(start, "expected a list name after $")
		}
		return token{kind: tokList, pos: start, text: l.src[start+1 : l.pos]}, nil
	case c == '-' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokInt, pos: start, text: l.src[start:l.pos]}, nil
	case isWordByte(c):
		for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
			l.pos++
		}
		return classifyWord(l.src[start:l.pos], start)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, errAt(start, fmt.Sprintf("unexpected character %q", r))
}

// classifyWord sorts a run of word bytes into an identifier, an integer or an IP literal.
func classifyWord(w string, pos int) (token, *posError) {
	switch {
	case strings.ContainsRune(w, ':'):
		return token{kind: tokIP, pos: pos, text: w}, nil
	case isDigit(w[0]):
		if strings.ContainsAny(w, "./") {
			return token{kind: tokIP, pos: pos, text: w}, nil
		}
		for i := 0; i < len(w); i++ {
			if !isDigit(w[i]) {
				return token{}, errAt(pos, fmt.Sprintf("malformed number %q", w))
			}
		}
		return token{kind: tokInt, pos: pos, text: w}, nil
	case strings.ContainsRune(w, '/'):
		return token{}, errAt(pos, fmt.Sprintf("unexpected %q; strings are quoted", w))
	}
	return token{kind: tokIdent, pos: pos, text: w}, nil
}

// quoted reads a "…" string with the escapes \" \\ \n \r \t \xHH.
func (l *lexer) quoted() (token, *posError) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return token{kind: tokString, pos: start, text: b.String()}, nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				return token{}, errAt(l.pos, "unterminated escape")
			}
			e := l.src[l.pos+1]
			switch e {
			case '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'x':
				if l.pos+3 >= len(l.src) || unhex(l.src[l.pos+2]) < 0 || unhex(l.src[l.pos+3]) < 0 {
					return token{}, errAt(l.pos, `\x needs two hex digits`)
				}
				b.WriteByte(byte(unhex(l.src[l.pos+2])<<4 | unhex(l.src[l.pos+3])))
				l.pos += 2
			default:
				return token{}, errAt(l.pos, fmt.Sprintf(`unknown escape \%c (use \\ for a backslash; regexes can be written as raw strings r"…")`, e))
			}
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return token{}, errAt(start, "unterminated string")
}

// raw reads r"…" or r#"…"# (any number of #), wirefilter's raw strings: no escapes.
func (l *lexer) raw() (token, *posError) {
	start := l.pos
	l.pos++
	hashes := 0
	for l.pos < len(l.src) && l.src[l.pos] == '#' {
		hashes++
		l.pos++
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '"' {
		return token{}, errAt(start, `expected " to open a raw string`)
	}
	l.pos++
	end := `"` + strings.Repeat("#", hashes)
	i := strings.Index(l.src[l.pos:], end)
	if i < 0 {
		return token{}, errAt(start, "unterminated raw string")
	}
	text := l.src[l.pos : l.pos+i]
	l.pos += i + len(end)
	return token{kind: tokString, pos: start, text: text}, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
