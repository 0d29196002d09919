package authn

import (
	"crypto/subtle"
	"net/http"
)

// EnrollPath is the gateway device enrolment page on the auth domain, under the wire prefix
// (package gateway/devices serves it; a login may return to it).
const EnrollPath = "gateway/enroll"

// ConsolePath is the admin console on the auth domain, under the wire prefix (package console
// serves it and everything below it; a login may return to any of its pages).
const ConsolePath = "admin/"

// FormToken returns the CSRF token of a form on the auth domain for purpose: derived from the
// browser's org session cookie, so that only a page that could read the cookie's value —
// Gatehouse's own — can know it (as the sign-out confirmation does). "" when the request
// carries no org session cookie.
func (s *Service) FormToken(r *http.Request, purpose string) string {
	raw := cookieValue(r, s.Snapshots.Load().OrgCookie())
	if raw == "" {
		return ""
	}
	return hashValue("form:"+purpose, raw)
}

// CheckFormToken reports whether the posted token is the request's FormToken for purpose (in
// constant time); never when the request has no org session cookie.
func (s *Service) CheckFormToken(r *http.Request, purpose, posted string) bool {
	want := s.FormToken(r, purpose)
	return want != "" && subtle.ConstantTimeCompare([]byte(posted), []byte(want)) == 1
}
