package dlp

// sourceCodeEntry classifies a whole decoded stream by language heuristics:
// counts of language-specific tokens and of code-shaped line endings. Only
// streams of at least minCodeBytes are evaluated (the Cloudflare rule).
type sourceCodeEntry struct{}

func (sourceCodeEntry) isDetector() {}
func (sourceCodeEntry) isStream()   {}

const minCodeBytes = 500

// codeTokens maps a language to tokens that rarely occur in prose. Tokens are
// matched case-sensitively.
var codeTokens = map[string][]string{
	"go":         {"package ", "func ", ":= ", "import (", "err != nil", "fmt.", "chan ", "go func", "defer "},
	"python":     {"def ", "self.", "elif ", "):\n", "__init__", "import ", "print(", "None", "lambda "},
	"javascript": {"function ", "const ", "=> ", "console.log", "require(", "let ", "===", "export ", "async "},
	"java":       {"public class", "public static", "System.out", "private ", "@Override", "import java", "new ", "void "},
	"c":          {"#include", "int main", "printf(", "->", "#define", "NULL", "sizeof(", "struct "},
	"cpp":        {"#include", "std::", "nullptr", "template<", "namespace ", "cout <<", "->"},
	"csharp":     {"using System", "namespace ", "public void", "Console.Write", "var ", "async Task"},
	"rust":       {"fn ", "let mut", "impl ", "pub fn", "println!", "::new(", "&self", "use std", "-> "},
	"ruby":       {"def ", "end\n", "puts ", "require '", "attr_accessor", ".each do"},
	"php":        {"<?php", "$this->", "echo ", "function ", "->"},
	"lua":        {"local ", "function ", "end\n", "then\n", "elseif "},
	"r":          {"<- ", "library(", "function(", "data.frame"},
	"swift":      {"func ", "var ", "let ", "guard ", "import Foundation", "-> "},
	"haskell":    {":: ", "where\n", "import qualified", "-> ", "<- "},
}

// structureTokens are code-shaped line endings and operators.
var structureTokens = []string{"{\n", "}\n", ";\n", "):\n", "();", "==", "!=", "&&", "||", "/*", "*/", "//", "{\r\n", ";\r\n", "}\r\n"}

// codeStats accumulates token counts for one stream.
type codeStats struct {
	bytes     int64
	lines     int
	structure int
	lang      map[string]map[string]int
}

func (c *codeStats) add(lang, tok string) {
	if c.lang == nil {
		c.lang = map[string]map[string]int{}
	}
	m := c.lang[lang]
	if m == nil {
		m = map[string]int{}
		c.lang[lang] = m
	}
	m[tok]++
}

// verdict returns the detected language, or "".
func (c *codeStats) verdict() (string, Confidence) {
	if c.bytes < minCodeBytes || c.lines < 5 {
		return "", 0
	}
	best, bestDistinct, bestTotal := "", 0, 0
	for lang, toks := range c.lang {
		total := 0
		for _, n := range toks {
			total += n
		}
		if len(toks) > bestDistinct || len(toks) == bestDistinct && total > bestTotal {
			best, bestDistinct, bestTotal = lang, len(toks), total
		}
	}
	ratio := float64(c.structure) / float64(c.lines)
	if bestDistinct < 3 || bestTotal < 5 || ratio < 0.15 {
		return "", 0
	}
	if ratio >= 0.3 && bestDistinct >= 4 {
		return best, High
	}
	return best, Medium
}
