package dlp

import "strings"

const (
	roleTrigger = iota
	roleKeyword
	roleCode
	roleStructure
)

type role struct {
	kind  uint8
	entry int32
	lang  string
}

// plan is a profile compiled for scanning: one Aho–Corasick automaton holds
// every trigger literal, so a window is read once by the prefilter whatever
// the number of token entries. Proximity keywords are only looked for
// around a candidate, and source-code tokens only in windows whose line
// endings look like code, which keeps prose cheap.
type plan struct {
	entries  []*Entry
	ac       *acMatcher // trigger literals only
	codeAC   *acMatcher // source-code tokens, run on code-shaped windows
	codeRole []role
	kwAC     []*acMatcher // per entry proximity keywords, run near a candidate
	roles    [][]role
	numbers  []int32
	numDets  []numberDetector // the detectors of numbers, in order
	fulls    []int32
	code     int32 // index of the source code entry or -1
	// hidden marks entries added only to feed the PII record entry: their matches are not
	// reported. record is the index of the pii_record entry (-1 when the profile has none) and
	// member marks the entries whose matches it counts.
	hidden []bool
	record int32
	member []bool
	// genericTrig marks trigger patterns of fallback entries (generic
	// secrets, URL credentials), which run after the specific entries so
	// their overlaps can be dropped.
	genericTrig map[int32]bool
}

func compilePlan(entries []*Entry) *plan {
	entries, hidden, record, member := withRecordMembers(entries)
	pl := &plan{entries: entries, code: -1, hidden: hidden, record: record, member: member}
	ids := map[string]int32{}
	var pats []string
	var exact []bool
	add := func(p string, ex bool, r role) {
		key := p
		if ex {
			key = "\x00" + p
		} else {
			key = strings.ToLower(p)
		}
		id, ok := ids[key]
		if !ok {
			id = int32(len(pats))
			ids[key] = id
			pats = append(pats, p)
			exact = append(exact, ex)
			pl.roles = append(pl.roles, nil)
		}
		pl.roles[id] = append(pl.roles[id], r)
	}
	for i, e := range entries {
		ei := int32(i)
		switch d := e.det.(type) {
		case triggerDetector:
			for _, t := range d.triggers() {
				// Token prefixes are case-sensitive; keyword-style triggers are not.
				add(t, e.ID != "generic_secret" && e.ID != "aws_secret_access_key" || t == "AKIA" || t == "ASIA" || t == "Key", role{kind: roleTrigger, entry: ei})
			}
		case numberDetector:
			pl.numbers = append(pl.numbers, ei)
			pl.numDets = append(pl.numDets, d)
		case fullDetector:
			pl.fulls = append(pl.fulls, ei)
		case streamDetector:
			pl.code = ei
			var cp []string
			for lang, toks := range codeTokens {
				for _, t := range toks {
					cp = append(cp, t)
					pl.codeRole = append(pl.codeRole, role{kind: roleCode, entry: ei, lang: lang})
				}
			}
			for _, t := range structureTokens {
				cp = append(cp, t)
				pl.codeRole = append(pl.codeRole, role{kind: roleStructure, entry: ei})
			}
			ex := make([]bool, len(cp))
			for k := range ex {
				ex[k] = true
			}
			pl.codeAC = newACMatcher(cp, ex)
			pl.codeAC.enablePairSkip()
		}
	}
	pl.kwAC = make([]*acMatcher, len(entries))
	for i, e := range entries {
		if len(e.Keywords) > 0 {
			// Keywords are matched in folded text (keywordNear), so they are
			// folded too.
			kws := make([]string, len(e.Keywords))
			for k, kw := range e.Keywords {
				kws[k] = foldString(kw)
			}
			pl.kwAC[i] = newACMatcher(kws, nil)
		}
	}
	pl.genericTrig = map[int32]bool{}
	for id, rs := range pl.roles {
		for _, r := range rs {
			if _, ok := entries[r.entry].det.(fallbackDetector); ok && r.kind == roleTrigger {
				pl.genericTrig[int32(id)] = true
			}
		}
	}
	pl.ac = newACMatcher(pats, exact)
	pl.ac.enablePairSkip()
	return pl
}
