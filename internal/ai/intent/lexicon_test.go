package intent

import "testing"

// TestKeyWord: the one-load packing of a key in an arena with room after
// it agrees with the byte loop, whatever lies past the key.
func TestKeyWord(t *testing.T) {
	key := []byte("abcdefghijkl")
	for n := 0; n <= len(key); n++ {
		exact := append([]byte(nil), key[:n]...)[:n:n]
		roomy := append(append([]byte(nil), key[:n]...), "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"...)[:n]
		if n < 8 && cap(exact) >= 8 || cap(roomy) < 8 {
			t.Fatalf("test setup: caps %d, %d", cap(exact), cap(roomy))
		}
		if a, b := keyWord(exact), keyWord(roomy); a != b {
			t.Errorf("key %q: %#x without room, %#x with", key[:n], a, b)
		}
	}
	if keyWord([]byte("abc")) == keyWord([]byte("abc\x00")) {
		t.Error("keys of different lengths pack alike")
	}
}

// TestLexiconFrozenAgrees: every key of the frozen lexicon is found at
// its own entry with the categories and phrases it was compiled with.
func TestLexiconFrozenAgrees(t *testing.T) {
	for id, k := range lex.keys {
		if got := lex.find([]byte(k)); got != int32(id) {
			t.Fatalf("key %q: found %d, want %d", k, got, id)
		}
		e, v := lex.entries[id], lex.vals[id]
		if e.cats != v.cats || e.ph != v.ph {
			t.Fatalf("key %q: entry %+v, compiled %+v", k, e, v)
		}
	}
	for k, ps := range lex.phrases {
		run := lex.phraseRuns[k]
		if int(run[1]-run[0]) != len(ps) {
			t.Fatalf("phrase list %d: %d flat phrases for %d", k, run[1]-run[0], len(ps))
		}
		for j, p := range ps {
			f := lex.flat[int(run[0])+j]
			ids := lex.phraseIDs[f.off : f.off+f.n]
			if f.cats != p.cats || len(ids) != len(p.ids) {
				t.Fatalf("phrase list %d, phrase %d differs", k, j)
			}
			for i := range ids {
				if ids[i] != p.ids[i] {
					t.Fatalf("phrase list %d, phrase %d: ids differ", k, j)
				}
			}
		}
	}
}
