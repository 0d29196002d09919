package dlp

import (
	"context"
	"strings"
	"testing"
)

// addressFindings scans text with the postal address entry alone.
func addressFindings(t testing.TB, text string) []Finding {
	t.Helper()
	e, _ := PredefinedEntry("postal_address")
	v, err := NewEngine(Options{}).Scan(context.Background(), strings.NewReader(text), NewProfile("t", Low, 0, e))
	if err != nil {
		t.Fatal(err)
	}
	return v.Findings
}

func TestPostalAddress(t *testing.T) {
	cases := []struct {
		text  string
		match string // the whole match; "" when nothing may be found
		conf  Confidence
	}{
		// US
		{"Send it to 1600 Pennsylvania Ave NW, Washington, DC 20500 by Friday.", "1600 Pennsylvania Ave NW, Washington, DC 20500", High},
		{"my place: 742 Evergreen Terrace, Springfield, IL 62704-1234 thanks", "742 Evergreen Terrace, Springfield, IL 62704-1234", High},
		{"123 Main St., Apt 4B\nNew York, NY 10001", "123 Main St., Apt 4B\nNew York, NY 10001", High},
		{"350 5th Ave Suite 3300, New York NY 10118", "350 5th Ave Suite 3300, New York NY 10118", High},
		{"51 Franklin Street, Fifth Floor, Boston, MA 02110-1301, USA", "51 Franklin Street, Fifth Floor, Boston, MA 02110-1301", High},
		{"59 Temple Place, Suite 330\nBoston, MA 02111", "59 Temple Place, Suite 330\nBoston, MA 02111", High},
		{"the office in Austin, TX 78701 is closed", "Austin, TX 78701", Medium},
		{"region TX 78701 only", "", 0},
		{"see order ID 12345 and PR 12345, Fixed in PR 48213", "", 0},
		{"Order ID 12345", "", 0},
		// UK
		{"221B Baker Street, London NW1 6XE", "221B Baker Street, London NW1 6XE", High},
		{"Flat 3, 12 High Road\nLeyton\nLondon\nE10 5PW", "Flat 3, 12 High Road\nLeyton\nLondon\nE10 5PW", High},
		{"10 Downing Street, London SW1A 2AA.", "10 Downing Street, London SW1A 2AA", High},
		{"based in Manchester M1 1AE now", "Manchester M1 1AE", Medium},
		{"ref EC1A 1BB", "EC1A 1BB", Low},
		{"Girobank GIR 0AA", "Girobank GIR 0AA", Medium},
		// Germany, Austria, Switzerland
		{"Anschrift: Musterstraße 12, 10115 Berlin", "Musterstraße 12, 10115 Berlin", High},
		{"Hauptstr. 5a\n1010 Wien", "Hauptstr. 5a\n1010 Wien", High},
		{"Bahnhofstrasse 1, CH-8001 Zürich", "Bahnhofstrasse 1, CH-8001 Zürich", High},
		{"Am Alten Markt 3 D-14467 Potsdam", "Am Alten Markt 3 D-14467 Potsdam", High},
		{"Karl-Marx-Allee 90, 10243 Berlin-Friedrichshain", "Karl-Marx-Allee 90, 10243 Berlin-Friedrichshain", High},
		// France, Belgium
		{"12 rue de la Paix, 75002 Paris", "12 rue de la Paix, 75002 Paris", High},
		{"5 bis avenue Anatole France\n75007 PARIS CEDEX 07", "5 bis avenue Anatole France\n75007 PARIS CEDEX 07", High},
		{"16 rue de la Loi, 1000 Bruxelles", "16 rue de la Loi, 1000 Bruxelles", High},
		{"Musterstraße 12, 10115 Berlin 12 times", "Musterstraße 12, 10115 Berlin", High},
		// Netherlands
		{"Damrak 1, 1012 LG Amsterdam", "Damrak 1, 1012 LG Amsterdam", High},
		{"Keizersgracht 123-II\n1015 CJ Amsterdam", "Keizersgracht 123-II\n1015 CJ Amsterdam", High},
		// Spain, Italy
		{"Calle Mayor 10, 28013 Madrid", "Calle Mayor 10, 28013 Madrid", High},
		{"C/ de Alcalá 45, 3º B, 28014 Madrid", "C/ de Alcalá 45, 3º B, 28014 Madrid", High},
		{"Via Roma 1, 00184 Roma (RM)", "Via Roma 1, 00184 Roma (RM)", High},
		{"Corso Vittorio Emanuele II, 15 - 20122 Milano MI", "Corso Vittorio Emanuele II, 15 - 20122 Milano MI", High},

		// Hard negatives.
		{"upgrade to version 2.10115 Berlin release", "", 0},
		{"meeting at 10:30 in Berlin, 12345 attendees", "", 0},
		{"part number 12345 Berlin-Mitte warehouse", "", 0},
		{"Main Street 5, 10000 Euro per year", "", 0},
		{"prices: 10115 EUR, 75002 USD", "", 0},
		{"we walked down the street to 10115 Berlin", "", 0},
		{"| 10115 | 75002 | 28013 | 00184 |", "", 0},
		{"on 2024-10-01 we met 15 people in 75002 Paris", "", 0},
		{"In 2024 EU Commission rules changed", "", 0},
		{"Chapter 12, 2024 Update", "", 0},
		{"SKU B12CD and code AB1 2CD", "", 0},
		{"Windows 10 1GB of RAM", "", 0},
		{"Room QX1 1AA is booked", "", 0},
		{"the 3 Main Points, Austin TX78701", "", 0},
		{"Indianapolis, IN 46204 is not alone; foo IN 462041", "Indianapolis, IN 46204", Medium},
	}
	for _, c := range cases {
		fs := addressFindings(t, c.text)
		if c.match == "" {
			if len(fs) != 0 {
				t.Errorf("%q: unexpected %+v", c.text, fs)
			}
			continue
		}
		if len(fs) != 1 {
			t.Errorf("%q: want one finding %q, got %+v", c.text, c.match, fs)
			continue
		}
		f := fs[0]
		if got := c.text[f.Start:f.End]; got != c.match || f.Confidence != c.conf {
			t.Errorf("%q: got %q at %v, want %q at %v", c.text, got, f.Confidence, c.match, c.conf)
		}
	}
}

// TestPostalAddressKeywordAndRecord: a proximity keyword raises a bare postcode to High, and
// an address counts as a kind of personal data for the PII record.
func TestPostalAddressKeywordAndRecord(t *testing.T) {
	fs := addressFindings(t, "shipping address: EC1A 1BB")
	if len(fs) != 1 || fs[0].Confidence != High {
		t.Fatalf("keyword: %+v", fs)
	}
	p, err := PredefinedProfile(ProfilePII)
	if err != nil {
		t.Fatal(err)
	}
	if !containsEntry(p.Entries, "postal_address") {
		t.Fatal("PII profile lacks postal_address")
	}
	rec := NewProfile("rec", Low, 0, mustEntries("pii_record")...)
	v, err := NewEngine(Options{}).Scan(context.Background(), strings.NewReader(
		"Jane Roe, jane.roe@acme.io, 221B Baker Street, London NW1 6XE, SSN 536-22-1234"), rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Findings) != 1 || !strings.Contains(v.Findings[0].Detail, "postal_address") {
		t.Fatalf("record: %+v", v.Findings)
	}
}

func containsEntry(es []*Entry, id string) bool {
	for _, e := range es {
		if e.ID == id {
			return true
		}
	}
	return false
}

// FuzzPostalAddress runs the address matcher on every digit region of arbitrary text: it must
// not panic, and each candidate lies inside the text, ends after it starts and covers the
// region's last digit (the postcode it is anchored on).
func FuzzPostalAddress(f *testing.F) {
	for _, s := range []string{"742 Evergreen Terrace, Springfield, IL 62704-1234", "221B Baker Street, London NW1 6XE",
		"Musterstraße 12, 10115 Berlin", "12 rue de la Paix, 75002 Paris", "Damrak 1, 1012 LG Amsterdam",
		"C/ de Alcalá 45, 3º B, 28014 Madrid", "Via Roma 1, 00184 Roma (RM)", "GIR 0AA", "TX 78701", "1 1AA", "D-1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		forNumberRegions(b, func(lo, hi int) {
			addressEntry{}.number(b, lo, hi, func(c candidate) {
				if c.start < 0 || c.end > len(b) || c.start >= c.end || c.start > hi-1 || c.end < hi {
					t.Fatalf("candidate [%d,%d) for region [%d,%d) of %d bytes", c.start, c.end, lo, hi, len(b))
				}
			})
		})
	})
}
