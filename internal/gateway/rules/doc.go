// Package rules is the secure web gateway's HTTP policy engine: Cloudflare Gateway's rule model
// (id, name, precedence, enabled, action allow|block|redirect|off, traffic/identity/
// device_posture expressions, rule_settings) and its wirefilter expression language, as a pure
// library with no I/O.
//
// Expressions are parsed by a small hand-written lexer and precedence-climbing parser (the
// language is a security boundary, so it stays small and fuzzed), type-checked against a fixed
// schema of fields (unknown fields, wrong operand types, bad regular expressions and CIDRs are
// errors with line:column positions), and compiled once into a tree of typed nodes that
// evaluate an Input without allocating in the common cases.
//
// Evaluation follows Cloudflare's order of enforcement for HTTP policies: Do Not Inspect (off)
// rules before decryption (Policy.EvaluateConnect), then allow/block/redirect first match by
// ascending precedence over the request headers (Policy.EvaluateRequest), then the rules that
// need the response (EvaluateResponse) or a body scan such as DLP (EvaluateBody). Policy.Needs
// tells the proxy which of those phases and fields the rules use. docs/gateway-rules.md is the
// language reference.
package rules
