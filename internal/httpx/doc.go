// Package httpx holds the HTTP helpers every surface shares before and around a policy decision:
// canonical request paths (NormalizePath), post-login redirect targets (SafeRedirect), the client
// of a request (ClientIP behind trusted proxies, resolved once per request with its country by
// ClientResolver and read with ClientOf), browser navigations (WantsHTML), and errors that carry
// a public message and a private cause (Error).
//
// Each helper fails closed. NormalizePath refuses encodings that two parsers could read
// differently instead of guessing; SafeRedirect accepts only targets that stay on one origin;
// ClientIP believes X-Forwarded-For only from configured proxies.
package httpx
