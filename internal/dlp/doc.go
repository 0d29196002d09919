// Package dlp is Gatehouse's data loss prevention engine: detection entries
// (predefined validators for financial data, national identifiers, secrets
// and source code, plus custom regular expressions, word lists and exact
// data match datasets), profiles that group entries with a match count and
// a confidence threshold, and a streaming scanner that normalises and
// decodes its input within explicit budgets before matching.
//
// The scanner never reports "clean" for input it could not fully inspect:
// when a budget (depth, decoded bytes, time, archive size) is exceeded or a
// layer cannot be decoded, the Verdict is marked Incomplete with reasons and
// callers must fail closed (security rule 20).
//
// Confidence follows the hotword model of gateway-ai-spec §3.3: every entry
// has a base confidence (Low for weak formats such as a bare nine-digit
// routing number, Medium or High for checksummed or strongly prefixed
// values) that is raised to High when one of the entry's proximity keywords
// occurs within KeywordWindow bytes of the match. Well-known documentation
// examples (AKIAIOSFODNN7EXAMPLE, 4111 1111 1111 1111, 078-05-1120, the
// jwt.io sample token, …) are reported with Example set and Low confidence
// and never count towards a verdict.
package dlp
