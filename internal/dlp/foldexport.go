package dlp

// FoldRune returns the ASCII letter or digit r is a look-alike of (Cyrillic
// а, Greek ο, Cherokee Ꭺ, other scripts' digits; see foldTable), or 0. It
// lets other packages (the AI prompt classifier) fold homoglyphs exactly as
// the DLP keyword search does.
func FoldRune(r rune) byte { return foldRune(r) }
