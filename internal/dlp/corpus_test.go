package dlp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
)

// sample is one labelled document of the generated corpus: Entry is the
// entry it must trigger ("" for a hard negative that must trigger nothing
// of NegFor).
type sample struct {
	Entry  string // positive for this entry
	NegFor string // hard negative for this entry
	Text   string
}

type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64set = alnum + "+/"
	urlset = alnum + "-_"
)

func (g *gen) str(set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[g.r.IntN(len(set))]
	}
	return string(b)
}

func (g *gen) digits(n int) string { return g.str("0123456789", n) }
func (g *gen) pick(xs ...string) string {
	return xs[g.r.IntN(len(xs))]
}

var proseWords = strings.Fields(`the quarterly report shows that our team delivered the new onboarding flow on time
and the customer feedback was positive overall we will continue to monitor adoption over the next sprint while the
platform group finishes the migration of legacy services please review the attached notes before the meeting on
thursday and let me know if anything is unclear the budget for travel remains unchanged this year function import
return class public key token password card number phone mail bank account routing social security insurance`)

func (g *gen) prose(words int) string {
	var b strings.Builder
	for i := 0; i < words; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(proseWords[g.r.IntN(len(proseWords))])
		if g.r.IntN(12) == 0 {
			b.WriteString(".")
		}
	}
	return b.String()
}

func luhnDigit(partial string) byte {
	for c := byte('0'); c <= '9'; c++ {
		if luhn([]byte(partial + string(c))) {
			return c
		}
	}
	panic("unreachable")
}

func (g *gen) card() string {
	type br struct {
		prefix string
		n      int
	}
	brands := []br{{"4", 16}, {"4", 13}, {"51", 16}, {"55", 16}, {"2221", 16}, {"2720", 16}, {"34", 15}, {"37", 15},
		{"6011", 16}, {"65", 16}, {"3528", 16}, {"3589", 16}, {"36", 14}, {"300", 14}, {"62", 16}, {"62", 19}}
	b := brands[g.r.IntN(len(brands))]
	p := b.prefix + g.digits(b.n-1-len(b.prefix))
	return p + string(luhnDigit(p))
}

func groupCard(d string, sep string) string {
	if sep == "" {
		return d
	}
	if len(d) == 15 {
		return d[:4] + sep + d[4:10] + sep + d[10:]
	}
	var parts []string
	for i := 0; i < len(d); i += 4 {
		parts = append(parts, d[i:min(i+4, len(d))])
	}
	return strings.Join(parts, sep)
}

func (g *gen) ssn() string {
	for {
		a := 1 + g.r.IntN(899)
		if a == 666 {
			continue
		}
		return fmt.Sprintf("%03d-%02d-%04d", a, 1+g.r.IntN(99), 1+g.r.IntN(9999))
	}
}

func ibanCheck(country, bban string) string {
	s := bban + country + "00"
	r := 0
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			r = (r*100 + int(c-'A'+10)) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return fmt.Sprintf("%02d", 98-r)
}

func (g *gen) iban() string {
	var c, bban string
	switch g.r.IntN(4) {
	case 0:
		c, bban = "DE", g.digits(18)
	case 1:
		c, bban = "GB", g.str(upper, 4)+g.digits(14)
	case 2:
		c, bban = "FR", g.digits(23)
	default:
		c, bban = "NL", g.str(upper, 4)+g.digits(10)
	}
	return c + ibanCheck(c, bban) + bban
}

func spaced4(s string) string {
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}

func (g *gen) aba() string {
	prefixes := []int{1, 2, 5, 9, 11, 12, 21, 22, 26, 31, 32, 61, 63, 67, 71, 80}
	p := fmt.Sprintf("%02d", prefixes[g.r.IntN(len(prefixes))]) + g.digits(6)
	w := []int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := range p {
		sum += int(p[i]-'0') * w[i]
	}
	return p + string(byte('0'+(10-sum%10)%10))
}

func (g *gen) sin() string {
	p := string("1234567"[g.r.IntN(7)]) + g.digits(7)
	d := p + string(luhnDigit(p))
	sep := g.pick("-", " ")
	return d[:3] + sep + d[3:6] + sep + d[6:]
}

func (g *gen) nino() string {
	a := g.str("ABCEGHJKLMNOPRSTWXYZ", 1)
	b := g.str("ABCEGHJKLMNPRSTWXYZ", 1)
	if p := a + b; p == "BG" || p == "GB" || p == "KN" || p == "NK" || p == "NT" || p == "TN" || p == "ZZ" {
		return g.nino()
	}
	d := g.digits(6)
	s := g.str("ABCD", 1)
	if g.r.IntN(2) == 0 {
		return a + b + d + s
	}
	return a + b + " " + d[:2] + " " + d[2:4] + " " + d[4:] + " " + s
}

func (g *gen) phone() string {
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("(%d%s) %d%s-%s", 2+g.r.IntN(8), g.digits(2), 2+g.r.IntN(8), g.digits(2), g.digits(4))
	case 1:
		return fmt.Sprintf("+1 %d%s-%d%s-%s", 2+g.r.IntN(8), g.digits(2), 2+g.r.IntN(8), g.digits(2), g.digits(4))
	default:
		return fmt.Sprintf("+%s %s %s %s", g.pick("44", "49", "33", "61"), g.digits(2), g.digits(4), g.digits(4))
	}
}

func githubToken(g *gen, prefix string) string {
	body := g.str(alnum, 30)
	return prefix + body + base62Checksum(crc32.ChecksumIEEE([]byte(body)))
}

func (g *gen) jwt() string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p, _ := json.Marshal(map[string]any{"sub": g.digits(8), "name": g.str(alnum, 10), "iat": 1700000000 + g.r.IntN(1e6)})
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "." + g.str(urlset, 43)
}

func (g *gen) privateKey() string {
	var b strings.Builder
	kind := g.pick("RSA ", "EC ", "OPENSSH ", "")
	b.WriteString("-----BEGIN " + kind + "PRIVATE KEY-----\n")
	for i := 0; i < 6; i++ {
		b.WriteString(g.str(b64set, 64) + "\n")
	}
	b.WriteString("-----END " + kind + "PRIVATE KEY-----")
	return b.String()
}

var goTemplate = `package %s

import (
	"fmt"
	"strings"
)

// %s does the work.
func %s(items []string) (int, error) {
	total := 0
	for _, it := range items {
		if it == "" {
			return 0, fmt.Errorf("empty item")
		}
		total += len(strings.TrimSpace(it))
	}
	return total, nil
}

func main() {
	n, err := %s([]string{"a", "b"})
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
}
`

var pyTemplate = `import os
import sys


class %s:
    def __init__(self, path):
        self.path = path
        self.items = []

    def load(self):
        with open(self.path) as f:
            for line in f:
                if line.strip():
                    self.items.append(line)
        return len(self.items)


def %s(argv):
    loader = %s(argv[1])
    print(loader.load())
    return None


if __name__ == "__main__":
    %s(sys.argv)
`

var jsTemplate = `const fs = require('fs');

function %s(path) {
  const data = fs.readFileSync(path, 'utf8');
  let count = 0;
  for (const line of data.split('\n')) {
    if (line.trim() !== '') {
      count += 1;
    }
  }
  return count;
}

export async function %s(paths) {
  const results = paths.map((p) => %s(p));
  console.log(results);
  return results.reduce((a, b) => a + b, 0);
}

module.exports = { %s };
`

func (g *gen) ident() string { return "do" + g.str(upper, 1) + strings.ToLower(g.str(upper, 6)) }

func (g *gen) source() string {
	a, b := g.ident(), g.ident()
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf(goTemplate, strings.ToLower(g.str(upper, 5)), a, a, a)
	case 1:
		return fmt.Sprintf(pyTemplate, "L"+a, b, "L"+a, b)
	default:
		return fmt.Sprintf(jsTemplate, a, b, a, b)
	}
}

// corpus generates n positives and n hard negatives per entry with prose
// around each value; half the positives carry a proximity keyword.
func corpus(seed uint64, n int) []sample {
	g := newGen(seed)
	var out []sample
	wrap := func(kw, v string) string {
		if kw != "" && g.r.IntN(2) == 0 {
			return g.prose(8) + " " + kw + " " + v + " " + g.prose(8)
		}
		return g.prose(8) + " " + v + " " + g.prose(8)
	}
	pos := func(entry, kw string, f func() string) {
		for i := 0; i < n; i++ {
			out = append(out, sample{Entry: entry, Text: wrap(kw, f())})
		}
	}
	neg := func(entry string, f func() string) {
		for i := 0; i < n; i++ {
			out = append(out, sample{NegFor: entry, Text: wrap("", f())})
		}
	}
	uuid := func() string {
		h := g.str("0123456789abcdef", 32)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	pos("payment_card", "card number", func() string { return groupCard(g.card(), g.pick("", " ", "-")) })
	neg("payment_card", func() string {
		switch g.r.IntN(5) {
		case 0: // Luhn failure
			c := g.card()
			last := (c[len(c)-1]-'0'+1+byte(g.r.IntN(8)))%10 + '0'
			return groupCard(c[:len(c)-1]+string(last), " ")
		case 1: // no brand
			p := "1" + g.digits(14)
			return p + string(luhnDigit(p))
		case 2:
			return uuid()
		case 3:
			return groupCard(g.pick("4111111111111111", "4242424242424242", "5555555555554444", "378282246310005"), g.pick("", " "))
		default: // order id / timestamp
			return "order-" + g.digits(16) + g.digits(4)
		}
	})
	pos("us_ssn", "SSN", g.ssn)
	neg("us_ssn", func() string {
		switch g.r.IntN(5) {
		case 0:
			return fmt.Sprintf("%03d-%02d-%04d", g.pick1(0, 666, 900+g.r.IntN(100)), 1+g.r.IntN(99), 1+g.r.IntN(9999))
		case 1:
			return fmt.Sprintf("%03d-00-%04d", 1+g.r.IntN(600), 1+g.r.IntN(9999))
		case 2:
			return fmt.Sprintf("%03d-%02d-0000", 1+g.r.IntN(600), 1+g.r.IntN(99))
		case 3:
			return g.pick("078-05-1120", "219-09-9999", "123-45-6789")
		default:
			return fmt.Sprintf("%04d-%02d-%02d", 1990+g.r.IntN(40), 1+g.r.IntN(12), 1+g.r.IntN(28))
		}
	})
	pos("iban", "IBAN", func() string {
		if g.r.IntN(2) == 0 {
			return spaced4(g.iban())
		}
		return g.iban()
	})
	neg("iban", func() string {
		s := g.iban()
		switch g.r.IntN(3) {
		case 0: // wrong check digits
			return s[:2] + fmt.Sprintf("%02d", (int(s[2]-'0')*10+int(s[3]-'0')+1+g.r.IntN(90))%100) + s[4:]
		case 1: // wrong length
			return s + g.digits(1)
		default:
			return strings.ToUpper(g.str("abcdef0123456789", 22))
		}
	})
	pos("us_aba_routing", "routing number", g.aba)
	neg("us_aba_routing", func() string {
		a := g.aba()
		if g.r.IntN(2) == 0 {
			return a[:8] + string((a[8]-'0'+1+byte(g.r.IntN(8)))%10+'0')
		}
		return g.pick("13", "40", "55", "99") + a[2:]
	})
	pos("ca_sin", "SIN", g.sin)
	neg("ca_sin", func() string {
		s := g.sin()
		if g.r.IntN(2) == 0 {
			return "8" + s[1:]
		}
		d := []byte(s)
		d[len(d)-1] = (d[len(d)-1]-'0'+1+byte(g.r.IntN(8)))%10 + '0'
		return string(d)
	})
	pos("uk_nino", "national insurance number", g.nino)
	neg("uk_nino", func() string {
		switch g.r.IntN(3) {
		case 0:
			return g.pick("GB", "BG", "NK", "TN", "ZZ") + g.digits(6) + "A"
		case 1:
			return g.pick("D", "F", "Q", "U") + "A" + g.digits(6) + "B"
		default:
			return "AB" + g.digits(6) + g.pick("E", "F", "Z")
		}
	})
	// National identifiers with check digits: positives carry a valid check, hard negatives the
	// same shape with the check digit changed.
	for _, id := range []struct {
		entry, kw string
		gen       func(valid bool) string
	}{
		{"uk_nhs", "NHS number", g.nhs}, {"au_tfn", "tax file number", g.tfn}, {"th_id", "Thai national ID", g.thaiID},
		{"fr_nir", "numéro de sécurité sociale", g.nir}, {"sg_nric", "NRIC", g.nric}, {"hk_hkid", "HKID", g.hkid},
		{"tw_id", "national ID", g.twID},
	} {
		pos(id.entry, id.kw, func() string { return id.gen(true) })
		neg(id.entry, func() string { return id.gen(false) })
	}
	pos("email", "email", func() string {
		return strings.ToLower(g.str(upper, 5)) + "." + strings.ToLower(g.str(upper, 6)) + "@" +
			strings.ToLower(g.str(upper, 7)) + g.pick(".com", ".io", ".de", ".co.uk")
	})
	neg("email", func() string {
		return g.pick("@Override", "user@localhost", "icon@2x.png", "jane@example.com", "git@"+"github", "a@b", "@media screen")
	})
	pos("phone", "phone", g.phone)
	neg("phone", func() string {
		switch g.r.IntN(4) {
		case 0:
			return fmt.Sprintf("%04d-%02d-%02d", 1990+g.r.IntN(40), 1+g.r.IntN(12), 1+g.r.IntN(28))
		case 1:
			return fmt.Sprintf("v%d.%d.%d", g.r.IntN(10), g.r.IntN(30), g.r.IntN(200))
		case 2:
			return "555-0" + g.digits(3)
		default:
			return "(555) 555-01" + g.digits(2)
		}
	})
	pos("postal_address", "address", g.address)
	neg("postal_address", g.addressNegative)
	pos("aws_access_key_id", "aws", func() string { return g.pick("AKIA", "ASIA") + g.str(b32, 16) })
	neg("aws_access_key_id", func() string {
		return g.pick("AKIAIOSFODNN7EXAMPLE", "AKIA"+g.str(b32, 12), "akia"+strings.ToLower(g.str(b32, 16)), "AKIAZZ")
	})
	pos("aws_secret_access_key", "", func() string {
		return g.pick("aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY=", `"SecretAccessKey": "`) + g.str(b64set, 40)
	})
	neg("aws_secret_access_key", func() string {
		return g.pick("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			"aws commit "+g.str("0123456789abcdef", 40), "aws_secret_access_key = "+g.str("abcdefghij", 40))
	})
	pos("gcp_api_key", "google", func() string { return "AIza" + g.str(urlset, 35) })
	neg("gcp_api_key", func() string { return g.pick("AIza"+g.str(alnum, 20), "AIzaSyA-EXAMPLE-KEY-EXAMPLE-KEY-EXAMPLE12") })
	pos("azure_client_secret", "azure client secret", func() string {
		return g.str(alnum, 3) + g.digits(1) + "Q~" + g.str(alnum+"_~.-", 34)
	})
	neg("azure_client_secret", func() string { return "abc1Q~" + strings.Repeat("a", 34) })
	pos("github_token", "", func() string { return githubToken(g, g.pick("ghp_", "gho_", "ghu_", "ghs_", "ghr_")) })
	neg("github_token", func() string {
		return g.pick("ghp_"+g.str(alnum, 36), "ghp_"+g.str(alnum, 20), "ghp_EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE12")
	})
	pos("slack_token", "", func() string {
		return "xox" + g.pick("b", "p") + "-" + g.digits(11) + "-" + g.digits(12) + "-" + g.str(alnum, 24)
	})
	neg("slack_token", func() string { return g.pick("xoxb-your-token-here", "xoxz-"+g.digits(11)+"-"+g.str(alnum, 24)) })
	pos("stripe_secret_key", "", func() string { return g.pick("sk_live_", "rk_live_") + g.str(alnum, 24+g.r.IntN(10)) })
	neg("stripe_secret_key", func() string { return g.pick("sk_test_"+g.str(alnum, 24), "sk_live_"+g.str(alnum, 10)) })
	pos("openai_api_key", "", func() string {
		if g.r.IntN(2) == 0 {
			return "sk-proj-" + g.str(urlset, 64)
		}
		return "sk-" + g.str(alnum, 20) + "T3BlbkFJ" + g.str(alnum, 20)
	})
	neg("openai_api_key", func() string {
		return g.pick("task-force-meeting-notes", "sk-"+g.str(alnum, 10), "disk-usage-monitor-service-configuration-v2")
	})
	pos("anthropic_api_key", "", func() string { return "sk-ant-api03-" + g.str(urlset, 93) + "AA" })
	neg("anthropic_api_key", func() string { return "sk-ant-api03-" + g.str(urlset, 12) })
	pos("npm_token", "", func() string { return githubToken(g, "npm_") })
	neg("npm_token", func() string { return g.pick("npm_"+strings.Repeat("ab", 18), "npm_install", "npm_"+g.str(alnum, 20)) })
	pos("pypi_token", "", func() string { return "pypi-AgEIcHlwaS5vcmc" + g.str(urlset, 70) })
	neg("pypi_token", func() string { return "pypi-AgEIcHlwaS5vcmc" + g.str(urlset, 10) })
	pos("private_key", "", g.privateKey)
	neg("private_key", func() string {
		return g.pick("-----BEGIN PUBLIC KEY-----\n"+g.str(b64set, 64)+"\n-----END PUBLIC KEY-----",
			"-----BEGIN CERTIFICATE-----\n"+g.str(b64set, 64)+"\n-----END CERTIFICATE-----")
	})
	pos("jwt", "", g.jwt)
	neg("jwt", func() string {
		return g.pick("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
			"eyJ"+g.str(urlset, 20)+"."+g.str(urlset, 20)+"."+g.str(urlset, 20))
	})
	pos("generic_secret", "", func() string {
		return g.pick("password = \"", "DB_PASSWORD=", "api_key: ", `"client_secret": "`, "auth_token := \"") + g.str(alnum+"!#%", 20) + "\""
	})
	neg("generic_secret", func() string {
		return g.pick(`password = os.environ["DB_PASSWORD"]`, "token = config.token_value", "password: changeme",
			`secret = "${SECRET}"`, `pwd = "aaaaaaaa"`, "the password must be at least twelve characters",
			"api_key = get_api_key()", "token: <your-token>")
	})
	for i := 0; i < n; i++ {
		out = append(out, sample{Entry: "source_code", Text: g.source() + "\n" + g.source()})
		out = append(out, sample{NegFor: "source_code", Text: g.prose(120)})
	}
	return out
}

// address returns a postal address in one of the US, UK and EU formats, or (one in nine) a
// bare UK postcode (Low) or a US city, state and ZIP (Medium).
func (g *gen) address() string {
	num := fmt.Sprint(1 + g.r.IntN(2500))
	sep := g.pick(", ", "\n", ",\n")
	switch g.r.IntN(9) {
	case 0, 1:
		zip := fmt.Sprintf("%05d", 1001+g.r.IntN(98000))
		if g.r.IntN(3) == 0 {
			zip += "-" + g.digits(4)
		}
		unit := g.pick("", ", Apt "+fmt.Sprint(1+g.r.IntN(40))+g.pick("", "B"), " Suite "+fmt.Sprint(100+g.r.IntN(900)), " #"+fmt.Sprint(1+g.r.IntN(99)))
		return num + " " + g.pick("", "N ", "W ") + g.pick("Main", "Oak", "Maple", "Cedar Hill", "Martin Luther King", "5th", "Lincoln") + " " +
			g.pick("St", "St.", "Street", "Ave", "Avenue", "Blvd", "Rd", "Drive", "Ln", "Way", "Pkwy") + unit + sep +
			g.pick("Springfield", "New York", "San Francisco", "St. Louis", "Salt Lake City", "Austin") + ", " +
			g.pick("IL", "NY", "CA", "MO", "UT", "TX", "WA", "DC") + " " + zip
	case 2, 3:
		pc := g.pick("SW1A 2AA", "NW1 6XE", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "LS1 4AP", "EH1 1YZ", "GIR 0AA")
		return g.pick("", "Flat "+fmt.Sprint(1+g.r.IntN(20))+", ") + num + g.pick("", "B") + " " +
			g.pick("Baker", "High", "Church", "Station", "Victoria", "Mill Lane", "Kings") + " " +
			g.pick("Street", "Road", "Lane", "Close", "Avenue", "Gardens", "Crescent", "Terrace") + sep +
			g.pick("", "Leyton"+sep) + g.pick("London", "Manchester", "Birmingham", "Leeds", "Edinburgh", "Newcastle upon Tyne") + g.pick(" ", sep) + pc
	case 4:
		plz := fmt.Sprintf("%05d", 1067+g.r.IntN(98000))
		town := g.pick("Berlin", "München", "Frankfurt am Main", "Köln", "Hamburg")
		if g.r.IntN(3) == 0 {
			plz, town = fmt.Sprint(1010+g.r.IntN(8000)), g.pick("Wien", "Zürich", "Graz", "Bern")
		}
		return g.pick("Muster", "Haupt", "Bahnhof", "Goethe", "Linden", "Schiller") + g.pick("straße", "strasse", "str.", "weg", "gasse", "platz", "allee") +
			" " + num + g.pick("", "a", "b") + sep + g.pick("", "D-", "CH-") + plz + " " + town
	case 5:
		return num + g.pick("", " bis") + " " + g.pick("rue", "avenue", "boulevard", "place", "impasse", "quai") + " " +
			g.pick("de la Paix", "Victor Hugo", "des Lilas", "du Général de Gaulle", "Saint-Honoré") + sep +
			fmt.Sprintf("%02d%03d", 1+g.r.IntN(95), g.r.IntN(1000)) + " " + g.pick("Paris", "Lyon", "Marseille", "Saint-Denis", "PARIS CEDEX 08")
	case 6:
		return g.pick("Damrak", "Keizersgracht", "Kalverstraat", "Coolsingel", "Oudegracht") + " " + num + g.pick("", "A", "-II") + sep +
			fmt.Sprint(1000+g.r.IntN(9000)) + " " + g.pick("AB", "LG", "CJ", "XK", "PT") + " " + g.pick("Amsterdam", "Rotterdam", "Utrecht", "Den Haag")
	case 7:
		if g.r.IntN(2) == 0 {
			return g.pick("Calle", "Avenida", "Paseo", "Plaza", "C/") + " " + g.pick("Mayor", "de Alcalá", "de Gracia", "del Prado") + " " + num +
				g.pick("", ", 3º B", ", 2º") + sep + fmt.Sprintf("%02d%03d", 1+g.r.IntN(52), g.r.IntN(1000)) + " " + g.pick("Madrid", "Barcelona", "Sevilla")
		}
		return g.pick("Via", "Viale", "Piazza", "Corso") + " " + g.pick("Roma", "Garibaldi", "del Duomo", "Vittorio Emanuele II") + g.pick(" ", ", ") + num +
			g.pick(sep, " - ") + fmt.Sprintf("%05d", 10+g.r.IntN(98000)) + " " + g.pick("Roma", "Milano", "Firenze (FI)", "Torino TO")
	default:
		if g.r.IntN(2) == 0 {
			return g.pick("SW1A 2AA", "NW1 6XE", "EC1A 1BB", "M1 1AE", "B33 8TH")
		}
		return g.pick("Austin, TX", "Oakland, CA", "Buffalo, NY") + " " + fmt.Sprintf("%05d", 10001+g.r.IntN(89000))
	}
}

// addressNegative returns text with the digits and words of addresses that is not one:
// version numbers, times, product codes, "street" without an address, bare numeric postcodes
// in a table, prices, dates, and identifiers after a word that is a US state code.
func (g *gen) addressNegative() string {
	switch g.r.IntN(9) {
	case 8:
		return g.pick("order ID", "fixed in PR", "ticket PA", "user ID") + " " + fmt.Sprintf("%05d", 10001+g.r.IntN(89000))
	case 0:
		return fmt.Sprintf("v%d.%d.%d", g.r.IntN(10), g.r.IntN(30), g.r.IntN(200)) + " " + g.pick("Berlin", "Paris", "London") + " release"
	case 1:
		return fmt.Sprintf("%02d:%02d", g.r.IntN(24), g.r.IntN(60)) + " " + g.pick("Uhr", "PM", "CET") + " in " + g.pick("Berlin", "Paris")
	case 2:
		return "part " + g.pick("SKU", "PN", "REF") + "-" + g.digits(5) + " " + g.pick("XL", "Blue") + " and " + g.str(upper, 2) + g.digits(5)
	case 3:
		return g.pick("we walked down the street to the", "Main Street 5 has", "Wall Street lost") + " " + fmt.Sprint(1000+g.r.IntN(90000)) + " " + g.pick("points", "people", "shares")
	case 4:
		return "| " + fmt.Sprintf("%05d", g.r.IntN(99999)) + " | " + fmt.Sprintf("%05d", g.r.IntN(99999)) + " | " + fmt.Sprint(1000+g.r.IntN(9000)) + " |"
	case 5:
		return g.pick("Preis", "Price", "Total") + " " + fmt.Sprint(1000+g.r.IntN(90000)) + " " + g.pick("EUR", "Euro", "USD", "CHF")
	case 6:
		return fmt.Sprintf("%04d-%02d-%02d", 1990+g.r.IntN(40), 1+g.r.IntN(12), 1+g.r.IntN(28)) + " " + g.pick("Berlin", "Paris", "Madrid")
	default:
		return "In " + fmt.Sprint(1990+g.r.IntN(40)) + " " + g.pick("EU", "UN", "NATO") + " " + g.pick("Commission", "Summit", "Members")
	}
}

func (g *gen) pick1(xs ...int) int { return xs[g.r.IntN(len(xs))] }

// denseText returns about n bytes of generated content: "prose", "code" or
// "pii" (a value every few words).
func denseText(seed uint64, kind string, n int) []byte {
	g := newGen(seed)
	var b strings.Builder
	for b.Len() < n {
		switch kind {
		case "prose":
			b.WriteString(g.prose(60))
			b.WriteString("\n\n")
		case "code":
			b.WriteString(g.source())
		case "pii":
			b.WriteString(g.prose(4) + " " + groupCard(g.card(), " ") + " " + g.ssn() + " " + g.phone() + " " +
				strings.ToLower(g.str(upper, 6)) + "@acme.io " + g.iban() + "\n")
		}
	}
	return []byte(b.String()[:n])
}

// bumpLast changes the last digit of s (a check digit) to another value.
func bumpLast(s string, valid bool) string {
	if valid {
		return s
	}
	last := s[len(s)-1]
	return s[:len(s)-1] + string('0'+(last-'0'+1+byte(len(s)%8))%10)
}

func (g *gen) nhs(valid bool) string {
	for {
		d := g.pick("4", "6", "7", "35") + g.digits(8)
		d = d[:9]
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(d[i]-'0') * (10 - i)
		}
		c := 11 - sum%11
		if c == 11 {
			c = 0
		}
		if c == 10 {
			continue
		}
		n := d + string(rune('0'+c))
		if !valid {
			n = d + string(rune('0'+(c+1+g.r.IntN(8))%10))
			if _, ok := nhsCheck(n); ok {
				continue
			}
		}
		return n[:3] + " " + n[3:6] + " " + n[6:]
	}
}

func (g *gen) tfn(valid bool) string {
	for {
		d := g.digits(8)
		for c := 0; c <= 9; c++ {
			n := d + string(rune('0'+c))
			_, ok := tfnCheck(n)
			if ok == valid {
				return n[:3] + " " + n[3:6] + " " + n[6:]
			}
		}
	}
}

func (g *gen) thaiID(valid bool) string {
	d := string(rune('1'+g.r.IntN(8))) + g.digits(11)
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(d[i]-'0') * (13 - i)
	}
	c := (11 - sum%11) % 10
	if !valid {
		c = (c + 1 + g.r.IntN(9)) % 10
	}
	n := d + string(rune('0'+c))
	return n[:1] + "-" + n[1:5] + "-" + n[5:10] + "-" + n[10:12] + "-" + n[12:]
}

func (g *gen) nir(valid bool) string {
	month := 1 + g.r.IntN(12)
	body := g.pick("1", "2") + g.digits(2) + fmt.Sprintf("%02d", month) + fmt.Sprintf("%02d", 1+g.r.IntN(95)) + g.digits(6)
	var n uint64
	for _, c := range body {
		n = n*10 + uint64(c-'0')
	}
	key := 97 - int(n%97)
	if !valid {
		key = (key + 1 + g.r.IntN(90)) % 97
		if key == 0 {
			key = 1
		}
	}
	k := fmt.Sprintf("%02d", key)
	return body[:1] + " " + body[1:3] + " " + body[3:5] + " " + body[5:7] + " " + body[7:10] + " " + body[10:13] + " " + k
}

func (g *gen) nric(valid bool) string {
	prefix := g.pick("S", "T", "F", "G")
	d := g.digits(7)
	weights := [7]int{2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, w := range weights {
		sum += int(d[i]-'0') * w
	}
	if prefix == "T" || prefix == "G" {
		sum += 4
	}
	table := "JZIHGFEDCBA"
	if prefix == "F" || prefix == "G" {
		table = "XWUTRQPNMLK"
	}
	c := table[sum%11]
	if !valid {
		c = table[(sum+1+g.r.IntN(9))%11]
	}
	return prefix + d + string(c)
}

func (g *gen) hkid(valid bool) string {
	two := g.r.IntN(4) == 0
	letters := g.str(upper, 1)
	first := 36
	if two {
		letters = g.str(upper, 2)
		first = int(letters[0]-'A') + 10
	}
	second := int(letters[len(letters)-1]-'A') + 10
	d := g.digits(6)
	sum := first*9 + second*8
	for i := 0; i < 6; i++ {
		sum += int(d[i]-'0') * (7 - i)
	}
	cv := (11 - sum%11) % 11
	if !valid {
		cv = (cv + 1 + g.r.IntN(9)) % 11
	}
	c := "A"
	if cv < 10 {
		c = string(rune('0' + cv))
	}
	if g.r.IntN(2) == 0 {
		return letters + d + "(" + c + ")"
	}
	return letters + d + c
}

func (g *gen) twID(valid bool) string {
	letters := "ABCDEFGHJKLMNPQRSTUVXYWZIO"
	l := letters[g.r.IntN(len(letters))]
	code := twLetterCodes[l]
	d := g.pick("1", "2") + g.digits(7)
	sum := code/10 + code%10*9
	for i := 0; i < 8; i++ {
		sum += int(d[i]-'0') * (8 - i)
	}
	c := (10 - sum%10) % 10
	if !valid {
		c = (c + 1 + g.r.IntN(9)) % 10
	}
	return string(l) + d + string(rune('0'+c))
}
