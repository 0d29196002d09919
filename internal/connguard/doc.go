// Package connguard guards the public listener's client connections below net/http, where the
// handlers cannot see: it performs TLS handshakes off the accept loop, checks the framing of
// every HTTP/1.x request with a strict RFC 9112 reader before net/http parses it (a request that
// two parsers could frame differently is answered 400 and its connection closed before any later
// byte is read as a request), holds a connection that offered a protocol switch until the switch
// is decided, and bounds the streams and resets one HTTP/2 connection may cause.
//
// Wiring on an http.Server: serve on a Listener; set ConnState to ConnState and ConnContext to
// a Guard's ConnContext; wrap the handler with the Guard's Handler.
package connguard
