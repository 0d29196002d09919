// Package httpx holds the HTTP helpers of the authorization path that every request goes through
// before a policy decision: canonical request paths (NormalizePath), post-login redirect targets
// (SafeRedirect) and the client address behind trusted proxies (ClientIP).
//
// Each helper fails closed. NormalizePath refuses encodings that two parsers could read
// differently instead of guessing; SafeRedirect accepts only targets that stay on one origin;
// ClientIP believes X-Forwarded-For only from configured proxies.
package httpx
