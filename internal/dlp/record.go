package dlp

import (
	"cmp"
	"slices"
	"strings"
)

// The PII record entry (gateway-ai-spec §3.2) fires when at least recordKinds different kinds
// of personal data occur within recordWindow bytes of each other in one stream: a name-less
// e-mail address alone is common, an e-mail address, a phone number and a social security
// number together are a record about a person. Its members run even when the profile does not
// list them, unreported.
const (
	recordEntryID = "pii_record"
	recordWindow  = 300
	recordKinds   = 3
)

// recordMembers are the entries a PII record counts.
var recordMembers = []string{"email", "phone", "postal_address", "us_ssn", "payment_card", "iban", "uk_nino", "ca_sin", "uk_nhs",
	"au_tfn", "th_id", "fr_nir", "sg_nric", "hk_hkid", "tw_id"}

type piiRecordEntry struct{}

func (piiRecordEntry) isDetector() {}

// withRecordMembers adds the record's members a profile with pii_record lacks, marked hidden.
func withRecordMembers(entries []*Entry) (all []*Entry, hidden []bool, record int32, member []bool) {
	record = -1
	for i, e := range entries {
		if e.ID == recordEntryID {
			record = int32(i)
		}
	}
	all = entries
	hidden = make([]bool, len(entries))
	if record >= 0 {
		all = slices.Clone(entries)
		for _, id := range recordMembers {
			if slices.ContainsFunc(all, func(e *Entry) bool { return e.ID == id }) {
				continue
			}
			all = append(all, predefinedByID[id])
			hidden = append(hidden, true)
		}
	}
	member = make([]bool, len(all))
	if record >= 0 {
		for i, e := range all {
			member[i] = slices.Contains(recordMembers, e.ID)
		}
	}
	return all, hidden, record, member
}

// recordHit is one member match, at stream offsets.
type recordHit struct {
	start, end int64
	entry      int32
}

// recordState follows the member matches of one stream: the matches of the current window
// (pending, in detector order) and the recent ones, in stream order, within recordWindow, with
// a count per entry so that the number of kinds among them is known at once.
type recordState struct {
	pending []recordHit
	recent  []recordHit
	counts  map[int32]int
	kinds   int
	lastEnd int64 // end of the last record reported: its matches do not start another
}

func (r *recordState) drop(n int) {
	for _, o := range r.recent[:n] {
		if r.counts[o.entry]--; r.counts[o.entry] == 0 {
			r.kinds--
		}
	}
	r.recent = append(r.recent[:0], r.recent[n:]...)
}

// flushRecords orders the window's member matches and reports each record they complete.
func (s *scanner) flushRecords(path []string) {
	r := s.rec
	if r == nil || len(r.pending) == 0 {
		return
	}
	if r.counts == nil {
		r.counts = map[int32]int{}
	}
	slices.SortFunc(r.pending, func(a, b recordHit) int { return cmp.Compare(a.start, b.start) })
	for _, h := range r.pending {
		if h.start < r.lastEnd {
			continue
		}
		old := 0
		for old < len(r.recent) && r.recent[old].start < h.start-recordWindow {
			old++
		}
		r.drop(old)
		r.recent = append(r.recent, h)
		if r.counts[h.entry]++; r.counts[h.entry] == 1 {
			r.kinds++
		}
		if r.kinds < recordKinds {
			continue
		}
		if len(s.v.Findings) >= s.o.MaxFindings {
			s.addFinding(Finding{}, true) // counted only; not kept
			r.lastEnd = h.end
			r.drop(len(r.recent))
			continue
		}
		var kinds []string
		end := h.end
		for _, o := range r.recent {
			if id := s.pl.entries[o.entry].ID; !slices.Contains(kinds, id) {
				kinds = append(kinds, id)
			}
			end = max(end, o.end)
		}
		slices.Sort(kinds)
		s.addFinding(Finding{Entry: recordEntryID, Profile: s.p.Name, Confidence: High, Path: path,
			Start: r.recent[0].start, End: end, Sample: "[" + strings.Join(kinds, ", ") + "]",
			Detail: strings.Join(kinds, ",")}, true)
		r.lastEnd = end
		r.drop(len(r.recent))
	}
	r.pending = r.pending[:0]
}
