package dlp

import (
	"encoding/binary"
	"testing"
)

// TestPrintableASCII8 checks the word-at-a-time test of strictText
// against the byte rule: every byte value at every position, among
// printable fillers.
func TestPrintableASCII8(t *testing.T) {
	printable := func(c byte) bool { return c >= 0x20 && c < 0x7f }
	for pos := 0; pos < 8; pos++ {
		for v := 0; v < 256; v++ {
			for _, fill := range []byte{' ', 'a', '~', '0'} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(v)
				if got, want := printableASCII8(binary.LittleEndian.Uint64(b[:])), printable(byte(v)); got != want {
					t.Fatalf("byte %#x at %d among %q: %v, want %v", v, pos, fill, got, want)
				}
			}
		}
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"plain text, long enough for words", true}, {"tab\tand\nnewline\r\n ok ok ok", true}, {"caf\u00e9 and more ascii text", true},
		{"a control \x01 byte in here....", false}, {"a DEL \x7f byte in the text ....", false}, {"bad utf-8 \xff in the text ....", false},
		{"short", true}, {"", true},
	} {
		if got := strictText([]byte(tc.s)); got != tc.want {
			t.Errorf("strictText(%q) = %v", tc.s, got)
		}
	}
}
