package criteria

import (
	"fmt"
	"strings"
)

// isoCountries lists the officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo), a
// user-assigned code that GeoIP databases use.
const isoCountries = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"XK " +
	"YE YT " +
	"ZA ZM ZW"

// countryAliases are codes people write that are not ISO 3166-1 alpha-2.
var countryAliases = map[string]string{"UK": "GB", "EL": "GR"}

// ParseCountry validates an ISO 3166-1 alpha-2 country code (either case) and returns it in
// upper case.
func ParseCountry(s string) (string, error) {
	if len(s) != 2 {
		return "", fmt.Errorf("invalid country code %q: want an ISO 3166-1 alpha-2 code such as US", s)
	}
	up := strings.ToUpper(s)
	if up[0] < 'A' || up[0] > 'Z' || up[1] < 'A' || up[1] > 'Z' {
		return "", fmt.Errorf("invalid country code %q: want two letters", s)
	}
	if alias, ok := countryAliases[up]; ok {
		return "", fmt.Errorf("invalid country code %q: not ISO 3166-1 alpha-2 (did you mean %s?)", s, alias)
	}
	if !IsCountry(up) {
		return "", fmt.Errorf("invalid country code %q: not an assigned ISO 3166-1 alpha-2 code", s)
	}
	return up, nil
}

// IsCountry reports whether code is an upper-case, assigned ISO 3166-1 alpha-2 code (or XK).
func IsCountry(code string) bool {
	if len(code) != 2 {
		return false
	}
	for i := 0; i+2 <= len(isoCountries); i += 3 {
		if isoCountries[i:i+2] == code {
			return true
		}
	}
	return false
}

// Geo returns the geo selector: the client's country is code.
func Geo(code string) (Criterion, error) {
	cc, err := ParseCountry(code)
	if err != nil {
		return Criterion{}, err
	}
	return Criterion{kind: KindGeo, value: cc}, nil
}

// matchGeo compares the configured (upper-case) code with the request's country, ignoring
// ASCII case; an unknown country ("") matches nothing.
func matchGeo(want, country string) bool {
	return len(country) == 2 && upperASCII(country[0]) == want[0] && upperASCII(country[1]) == want[1]
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
