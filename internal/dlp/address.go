package dlp

import (
	"regexp"
	"strings"
)

// Postal addresses (entry postal_address). Every address format handled here carries a postcode
// with at least one digit, so the entry is a number detector anchored on the postcode: it costs
// nothing on text without digits, and the surrounding text is only read around a digit run of a
// postcode's shape. From the postcode it looks back (at most addrLookBack bytes) for the town
// and the street line, and forward for the town where it follows the postcode:
//
//   - US: "1600 Pennsylvania Ave NW, Suite 200, Washington, DC 20500-0003": house number, street
//     name, suffix (St, Ave, Blvd, Rd…), optional direction and unit, city, USPS state code and
//     ZIP or ZIP+4: High; "City, ST 12345" Medium. A state code and ZIP alone are not reported
//     ("ID 12345", "PR 12345").
//   - UK: "221B Baker Street, London NW1 6XE": a postcode whose outward code names a real
//     postcode area (and GIR 0AA), alone Low, after a town Medium, after a street and a town
//     High.
//   - Germany, Austria, Switzerland ("Musterstraße 12, 10115 Berlin"), France ("12 rue de la
//     Paix, 75002 Paris"), Spain ("Calle Mayor 10, 28013 Madrid"), Italy ("Via Roma 1, 00184
//     Roma (RM)") and the Netherlands ("Damrak 1, 1012 LG Amsterdam"): street and number, then
//     postcode and town, High. A bare four- or five-digit number is not a postcode by itself, so
//     these formats are reported only with their street line.
type addressEntry struct{}

func (addressEntry) isDetector() {}

// addrLookBack bounds how far before the postcode the town and street are looked for.
const addrLookBack = 240

// ukAreas are the UK postcode areas (the letters of the outward code).
var ukAreas = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range strings.Fields(`AB AL B BA BB BD BF BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH
		DL DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS
		LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA
		TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE`) {
		m[a] = true
	}
	return m
}()

// usStates are the USPS state, district and territory codes.
var usStates = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE
		NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI AA AE AP`) {
		m[s] = true
	}
	return m
}()

const (
	// A place name: capitalised words, with the small words of compound names between them
	// ("Newcastle upon Tyne", "Frankfurt am Main", "Saint-Denis", "St. Louis").
	addrPlace = `\p{Lu}[\p{L}'’.]*(?:[ -](?:\p{Lu}[\p{L}'’.]*|upon|on|under|le|la|les|sur|sous|en|de|du|des|am|an|im|der|bei|di|del|della|in)){0,3}`
	// Separators between the lines of an address: a comma, a line break or both.
	addrSep = `[ \t]*(?:,[ \t]*(?:\r?\n[ \t]*)?|\r?\n[ \t]*)`
	// An English street: house number, name words and a street suffix, an optional direction
	// and an optional unit. The suffix keeps "turn left at 5 points" from being a street.
	enStreet = `(?:(?:Flat|Apartment|Apt|Unit|Suite) [0-9A-Za-z]{1,5},? )?\d{1,6}[A-Za-z]?(?:-\d{1,4})?` +
		`(?: (?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?)?` +
		`(?: (?:\p{Lu}[\p{L}'’.-]*|\d{1,3}(?:st|nd|rd|th))){1,4} ` +
		`(?:Street|St|Avenue|Ave|Av|Boulevard|Blvd|Road|Rd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Way|Parkway|Pkwy|` +
		`Highway|Hwy|Terrace|Ter|Tce|Circle|Cir|Square|Sq|Trail|Trl|Loop|Row|Pike|Plaza|Plz|Alley|Aly|Crescent|Cres|` +
		`Close|Gardens|Gdns|Grove|Hill|Walk|Mews|Park|Green|Parade|Rise|Vale|Yard|Wharf|Embankment|Circus|Gate|` +
		`Expressway|Expy|Freeway|Fwy|Turnpike|Tpke)\.?` +
		`(?: (?:N|S|E|W|NE|NW|SE|SW)\.?)?` +
		`(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|Dept)\.? ?#?[0-9A-Za-z-]{1,6}|,? #[0-9A-Za-z-]{1,6})?`
	// A line of its own between the street and the town: a floor or a unit ("51 Franklin
	// Street, Fifth Floor, Boston, MA 02110-1301").
	enUnitLine = `(?:(?:\p{Lu}\p{L}* )?(?:Floor|Fl\.?)|(?:Suite|Ste\.?|Unit|Apt\.?|Apartment|Room|Rm\.?|Building|Bldg\.?|Dept\.?|PMB) ?#?[0-9A-Za-z-]{1,6}|#[0-9A-Za-z-]{1,6})`
	// The house number of continental streets, with a letter, a range or a floor.
	euNumber = `\d{1,4}(?: ?[a-zA-Z]\b)?(?: ?[-/] ?\d{1,4}[a-zA-Z]?)?`
	// German, Austrian and Swiss streets: a word ending in a street word, or a street word
	// after other words ("Unter den Linden" has none and is missed).
	deStreet = `(?:\p{Lu}[\p{L}.'-]*(?i:straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|steig|pfad|markt|graben|kai|gürtel|zeile)|` +
		`(?:\p{Lu}[\p{L}.'-]* ){1,3}(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Damm|Ufer|Chaussee|Markt|Graben|Kai)) ` + euNumber
	// French streets: number (bis, ter), street type, name.
	frStreet = `\d{1,4}(?: ?(?:bis|ter|quater|[A-D])\b)?,? (?i:rue|avenue|av\.|boulevard|bd|boul\.|place|pl\.|allée|allee|` +
		`impasse|chemin|quai|route|cours|square|passage|esplanade|voie|villa|cité|faubourg|fbg|promenade|rond-point)` +
		`(?: [\p{L}'’.-]+){1,7}`
	// Spanish streets: street type, name, number, optional floor and door ("3º B").
	esStreet = `(?:Calle|CALLE|C/|Cl\.|Avenida|AVENIDA|Avda\.?|Av\.|Paseo|Pº|Plaza|Pza\.?|Carrer|Camino|Ronda|Travesía|` +
		`Glorieta|Carretera|Ctra\.)(?: ?[\p{L}'’.-]+){1,6},? (?:n\.?º ?)?\d{1,4}[A-Za-z]?(?:,? [0-9ºª°A-Za-z-]{1,6}){0,2}`
	// Italian streets: street type, name, number ("Via Roma 1", "Corso Vittorio Emanuele II, 15").
	itStreet = `(?:Via|VIA|Viale|V\.le|Piazza|P\.zza|P\.za|Piazzale|Corso|C\.so|Largo|Vicolo|Strada|Lungomare|Lungotevere|` +
		`Contrada|Borgo|Salita)(?: [\p{L}'’.-]+){1,6},? \d{1,4}(?:/?[A-Za-z]\b)?`
	// Dutch streets: any name and a house number ("Damrak 1", "Keizersgracht 123-II"); the
	// Dutch postcode's letters make the address distinctive.
	nlStreet = `\p{Lu}[\p{L}'’.-]*(?: [\p{L}'’.-]+){0,3} \d{1,5}(?:[ -]?[A-Za-z]{1,3}\b|-\d{1,4}|-[IVX]{1,3})?`
)

var (
	// The grammars before a postcode end at it (\z): they are matched from the end
	// (endRegexp), which costs the few words of the address rather than the whole look-back.

	// Before a US state code: the city, and optionally the street line.
	usBeforeState = newEndRegexp(`(?:(` + enStreet + `)(?:` + addrSep + enUnitLine + `)?` + addrSep + `)?(` + addrPlace + `)(,?)[ \t]*`)
	// Before a UK postcode: up to two place lines, and optionally the street line.
	ukBefore = newEndRegexp(`(?:(` + enStreet + `)(?:` + addrSep + enUnitLine + `)?` + addrSep + `)?(` + addrPlace + `)(?:` + addrSep + addrPlace + `)?(?:,?[ \t]*|` + addrSep + `)`)
	// Before a continental postcode: the street line, then an optional country prefix (D-, CH-).
	euBefore = map[string]*endRegexp{
		"de": newEndRegexp(`(` + deStreet + `)` + euSepTail),
		"fr": newEndRegexp(`(` + frStreet + `)` + euSepTail),
		"es": newEndRegexp(`(` + esStreet + `)` + euSepTail),
		"it": newEndRegexp(`(` + itStreet + `)` + euSepTail),
		"nl": newEndRegexp(`(` + nlStreet + `)` + euSepTail),
	}
	// After a continental postcode: the town, with an optional Cedex or Italian province.
	euTownAfter = regexp.MustCompile(`^[ \t]+((` + addrPlace + `)(?:(?: Cedex| CEDEX)? \d{1,2}| \([A-Z]{2}\)| [A-Z]{2}\b)?)(?:[^\p{L}\p{N}_]|\z)`)
)

// euSepTail ends a street line before a postcode: a comma, a line break, a dash or a space, and
// an optional country prefix.
const euSepTail = `(?:` + addrSep + `|[ \t]+[-–][ \t]+|[ \t]+)(?:(?:D|DE|A|AT|CH|F|FR|E|ES|I|IT|NL)-)?`

// notTowns are capitalised words that follow numbers in prices and counts, not towns.
var notTowns = map[string]bool{"EUR": true, "Euro": true, "Euros": true, "USD": true, "CHF": true, "GBP": true,
	"Dollar": true, "Dollars": true, "Franken": true, "Stück": true, "Jahre": true, "Punkte": true}

// townEnd checks the town of an euTownAfter match m in after and returns where the address
// ends: words of prices and counts are not towns, and a number after the town belongs to it
// only after a Cedex ("75007 Paris Cedex 07").
func townEnd(after []byte, m []int) (int, bool) {
	if m == nil || len(m) < 6 || m[4] < 0 {
		return 0, false
	}
	town, suffix := after[m[4]:m[5]], after[m[5]:m[3]]
	if notTowns[string(town)] {
		return 0, false
	}
	if len(suffix) > 0 && isDigit(suffix[len(suffix)-1]) && !strings.HasSuffix(strings.ToLower(string(town)), "cedex") &&
		!strings.Contains(strings.ToLower(string(suffix)), "cedex") {
		return m[5], true
	}
	return m[3], true
}

func (addressEntry) number(text []byte, lo, hi int, emit func(candidate)) {
	if c, ok := ukAddress(text, hi); ok {
		emit(c)
		return
	}
	// The postcode is the region's last group of digits: the whole region, or a group after a
	// space (a house number without a comma before it) or after a dash (ZIP+4).
	ds := hi
	for ds > lo && isDigit(text[ds-1]) {
		ds--
	}
	n := hi - ds
	if ds == lo && ds > 0 && isWordByte(text[ds-1]) {
		return
	}
	if n == 4 && ds-6 >= lo && text[ds-1] == '-' {
		// ZIP+4: five digits, a dash, four digits.
		if z := ds - 6; digitsAt(text, z, 5) == 5 && (z == lo || text[z-1] == ' ') && (z == 0 || !isWordByte(text[z-1])) {
			if c, ok := usAddress(text, z, hi); ok {
				emit(c)
			}
		}
		return
	}
	if ds > lo && text[ds-1] != ' ' {
		return
	}
	switch n {
	case 5:
		if hi < len(text) && isWordByte(text[hi]) {
			return
		}
		if c, ok := usAddress(text, ds, hi); ok {
			emit(c)
		} else if c, ok := euAddress(text, ds, hi); ok {
			emit(c)
		}
	case 4:
		if c, ok := nlAddress(text, ds, hi); ok {
			emit(c)
		} else if c, ok := euAddress(text, ds, hi); ok && (hi == len(text) || !isWordByte(text[hi])) {
			emit(c)
		}
	}
}

// usAddress reads "ST 12345" at the ZIP [zs, ze) and the city and street before it.
func usAddress(text []byte, zs, ze int) (candidate, bool) {
	if zs < 3 || text[zs-1] != ' ' || !usStates[string(text[zs-3:zs-1])] || zs >= 4 && isWordByte(text[zs-4]) {
		return candidate{}, false
	}
	if ze < len(text) && (isWordByte(text[ze]) || text[ze] == '-' && digitsAt(text, ze+1, 1) == 1) {
		return candidate{}, false
	}
	// A state code and ZIP alone are not an address: "ID 12345" and "PR 12345" are an order and
	// a pull request. The city must come before them with its comma, or the street line.
	st := zs - 3
	from := max(0, st-addrLookBack)
	m := usBeforeState.FindSubmatchIndex(text[from:st])
	switch {
	case m == nil:
		return candidate{}, false
	case m[2] >= 0:
		return candidate{start: from + m[2], end: ze, conf: High, detail: "US"}, true
	case m[7] > m[6]:
		return candidate{start: from + m[4], end: ze, conf: Medium, detail: "US"}, true
	}
	return candidate{}, false
}

// ukAddress reads a UK postcode whose inward code starts at the last digit of the region
// ending at hi, and the town and street before it.
func ukAddress(text []byte, hi int) (candidate, bool) {
	in := hi - 1
	if in < 2 || hi+2 > len(text) || !ukInward(text[hi]) || !ukInward(text[hi+1]) || hi+2 < len(text) && isWordByte(text[hi+2]) {
		return candidate{}, false
	}
	// The outward code is separated by one space: run together, a letter-digit code
	// ("B12CD") is more often a part number than a postcode.
	if text[in-1] != ' ' {
		return candidate{}, false
	}
	oe := in - 1
	os := oe
	for os > 0 && isAlnum(text[os-1]) && oe-os < 5 {
		os--
	}
	if os > 0 && isWordByte(text[os-1]) || !ukOutward(string(text[os:oe])) {
		return candidate{}, false
	}
	c := candidate{start: os, end: hi + 2, conf: Low, detail: "UK"}
	from := max(0, os-addrLookBack)
	if m := ukBefore.FindSubmatchIndex(text[from:os]); m != nil {
		c.conf = Medium
		c.start = from + m[4]
		if m[2] >= 0 {
			c.conf = High
			c.start = from + m[2]
		}
	}
	return c, true
}

// ukInward reports whether c may be a letter of an inward code (not C, I, K, M, O or V).
func ukInward(c byte) bool { return isUpperByte(c) && strings.IndexByte("CIKMOV", c) < 0 }

// ukOutward checks an outward code: A9, A99, AA9, AA99, A9A or AA9A with a real area, or GIR.
func ukOutward(o string) bool {
	if o == "GIR" {
		return true
	}
	a := 0
	for a < len(o) && a < 2 && isUpperByte(o[a]) {
		a++
	}
	if a == 0 || !ukAreas[o[:a]] || a == len(o) || !isDigit(o[a]) {
		return false
	}
	switch rest := o[a+1:]; {
	case rest == "":
		return true
	case len(rest) == 1 && isDigit(rest[0]):
		return true
	case len(rest) == 1 && a == 1:
		return strings.IndexByte("ABCDEFGHJKPSTUW", rest[0]) >= 0
	case len(rest) == 1 && a == 2:
		return strings.IndexByte("ABEHMNPRVWXY", rest[0]) >= 0
	}
	return false
}

// euAddress reads a continental postcode [ps, pe) with the town after it and the street line
// before it; which street grammar matched names the country and its postcode rules.
func euAddress(text []byte, ps, pe int) (candidate, bool) {
	after := text[pe:min(len(text), pe+120)]
	if !mayBeTown(after) {
		return candidate{}, false
	}
	te, ok := townEnd(after, euTownAfter.FindSubmatchIndex(after))
	if !ok {
		return candidate{}, false
	}
	end := pe + te
	from := max(0, ps-addrLookBack)
	before := text[from:ps]
	pc := string(text[ps:pe])
	for _, cc := range euOrder {
		if !euPostcodeOK(cc, pc) {
			continue
		}
		if m := euBefore[cc].FindSubmatchIndex(before); m != nil {
			return candidate{start: from + m[2], end: end, conf: High, detail: euDetail[cc]}, true
		}
	}
	return candidate{}, false
}

// mayBeTown is euTownAfter's cheap first test: blanks, then an upper-case ASCII letter or
// the first byte of a non-ASCII one.
func mayBeTown(after []byte) bool {
	i := 0
	for i < len(after) && (after[i] == ' ' || after[i] == '\t') {
		i++
	}
	return i > 0 && i < len(after) && (isUpperByte(after[i]) || after[i] >= 0x80)
}

var euOrder = []string{"de", "fr", "es", "it"}

// euDetail names the countries whose formats a street grammar stands for.
var euDetail = map[string]string{"de": "DE/AT/CH", "fr": "FR/BE", "es": "ES", "it": "IT"}

// euPostcodeOK applies each country's postcode range: Germany five digits not starting 00,
// Austria, Switzerland and Belgium four digits from 1000, France 01…98, Spain's provinces
// 01…52, Italy any five digits.
func euPostcodeOK(cc, pc string) bool {
	if len(pc) == 4 {
		return (cc == "de" || cc == "fr") && pc[0] != '0'
	}
	lead := int(pc[0]-'0')*10 + int(pc[1]-'0')
	switch cc {
	case "de":
		return lead >= 1
	case "fr":
		return lead >= 1 && lead <= 98
	case "es":
		return lead >= 1 && lead <= 52
	}
	return true
}

// nlAddress reads a Dutch postcode "1234 AB" (no SA, SD or SS) at [ps, pe) followed by a town,
// with the street line before it.
func nlAddress(text []byte, ps, pe int) (candidate, bool) {
	j := pe
	if j < len(text) && text[j] == ' ' {
		j++
	}
	if text[ps] == '0' || j+2 > len(text) || !isUpperByte(text[j]) || !isUpperByte(text[j+1]) ||
		j+2 < len(text) && isWordByte(text[j+2]) {
		return candidate{}, false
	}
	if l := string(text[j : j+2]); l == "SA" || l == "SD" || l == "SS" {
		return candidate{}, false
	}
	after := text[j+2 : min(len(text), j+2+120)]
	if !mayBeTown(after) {
		return candidate{}, false
	}
	te, ok := townEnd(after, euTownAfter.FindSubmatchIndex(after))
	if !ok {
		return candidate{}, false
	}
	end := j + 2 + te
	from := max(0, ps-addrLookBack)
	m := euBefore["nl"].FindSubmatchIndex(text[from:ps])
	if m == nil {
		return candidate{}, false
	}
	return candidate{start: from + m[2], end: end, conf: High, detail: "NL"}, true
}
