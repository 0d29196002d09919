package web

import (
	"hash/fnv"
	"html/template"
	"strings"
	"unicode"
)

// monogramColors are the monogram backgrounds; each has a contrast of at least 4.5:1 with white
// text (TestMonogramPaletteContrast).
var monogramColors = []string{
	"#2456d6", // blue
	"#0f766e", // teal
	"#7c3aed", // violet
	"#b42318", // red
	"#9a3412", // rust
	"#047857", // green
	"#be185d", // pink
	"#4338ca", // indigo
	"#475569", // slate
	"#8a5a00", // ochre
}

// Initials returns up to two upper-case initials of name: the first letter or digit of its first
// two words ("Grafana" → "G", "Payroll admin" → "PA"), or "?" when it has none.
func Initials(name string) string {
	var out []rune
	inWord := false
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			inWord = false
			continue
		}
		if !inWord {
			out = append(out, unicode.ToUpper(r))
			if len(out) == 2 {
				break
			}
		}
		inWord = true
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// MonogramColor returns the monogram background of name: the same name (ignoring case and
// surrounding blanks) always gets the same colour.
func MonogramColor(name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(strings.TrimSpace(name))))
	return monogramColors[h.Sum32()%uint32(len(monogramColors))]
}

// Monogram returns an inline SVG tile icon for an application without a logo: its initials in
// white on a colour derived from its name. The SVG is decorative (aria-hidden): the tile shows
// the name as text beside it.
func Monogram(name string) template.HTML {
	initials := template.HTMLEscapeString(Initials(name))
	size := "18"
	if len([]rune(Initials(name))) > 1 {
		size = "15"
	}
	return template.HTML(`<svg class="monogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="40" height="40" aria-hidden="true" focusable="false">` + // #nosec: escaped initials, fixed palette
		`<rect width="40" height="40" rx="9" fill="` + MonogramColor(name) + `"/>` +
		`<text x="20" y="20" dy=".35em" text-anchor="middle" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" font-size="` + size + `" font-weight="600" fill="#fff">` +
		initials + `</text></svg>`)
}
