package proxy

import (
	"crypto/sha1" //nolint:gosec // RFC 6455 defines Sec-WebSocket-Accept with SHA-1; it is not used for security here
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Protocol upgrades.
//
// The only protocol a client may switch to through the proxy is WebSocket (RFC 6455), and only
// with a valid client handshake: GET over HTTP/1.1 without a body, Connection listing
// "upgrade", Upgrade naming exactly "websocket", one Sec-WebSocket-Key that is the base64 of 16
// bytes and Sec-WebSocket-Version 13. A request whose Upgrade names websocket but fails any of
// these is refused with 400 before the origin is contacted. Every other upgrade offer (h2c with
// its HTTP2-Settings, TLS/1.0, anything else) is ignored, as RFC 9110 allows a server to: the
// request is forwarded as an ordinary request without Upgrade, HTTP2-Settings or the Connection
// tokens naming them. The tunnel is opened only when the origin answers 101 with Upgrade:
// websocket, Connection: upgrade and the Sec-WebSocket-Accept that RFC 6455 derives from the key;
// any other 101 fails the request with 502 and the client connection is closed, never handed over.
//
// The authorization decision for the upgrade request's path is the decision for everything the
// tunnel carries: Gatehouse does not look inside WebSocket frames.

// websocketGUID is the constant RFC 6455 appends to the key to compute Sec-WebSocket-Accept.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// WebSocketAccept returns the Sec-WebSocket-Accept value an origin must answer to key.
func WebSocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID)) //nolint:gosec // see the import
	return base64.StdEncoding.EncodeToString(sum[:])
}

// errBadUpgradeResponse is the cause of a 502 for an origin's 101 that does not complete the
// WebSocket handshake the proxy forwarded.
var errBadUpgradeResponse = errors.New("origin switched protocols without completing the WebSocket handshake")

// prepareUpgrade decides what happens to a protocol upgrade offered by r before it is forwarded.
// offered reports whether r offered one at all (its connection is then not reused); websocketKey
// is the Sec-WebSocket-Key of a valid WebSocket handshake (the request is forwarded with its
// upgrade), "" when r offers no upgrade or one the proxy ignores (the offer is removed from r's
// headers). err refuses a WebSocket handshake that is not valid.
func prepareUpgrade(r *http.Request) (websocketKey string, offered bool, err error) {
	// HTTP2-Settings only ever accompanies an h2c upgrade offer, which is never taken.
	r.Header.Del("Http2-Settings")
	offers := r.Header.Values("Upgrade")
	if len(offers) == 0 {
		return "", false, nil
	}
	if !headerHasToken(offers, "websocket") {
		dropUpgradeOffer(r.Header)
		return "", true, nil
	}
	if err := validWebSocketHandshake(r); err != nil {
		return "", true, httpx.Errorf(http.StatusBadRequest, "invalid-websocket-handshake", "The WebSocket handshake is not valid.", err)
	}
	return r.Header.Get("Sec-Websocket-Key"), true, nil
}

// validWebSocketHandshake checks the client's opening handshake (RFC 6455, section 4.2.1).
func validWebSocketHandshake(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return fmt.Errorf("method %s", r.Method)
	case r.ProtoMajor != 1 || r.ProtoMinor != 1:
		return fmt.Errorf("protocol %s", r.Proto)
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		return errors.New("the handshake has a body")
	case !headerHasToken(r.Header.Values("Connection"), "upgrade"):
		return errors.New("connection does not list upgrade")
	}
	if offers := r.Header.Values("Upgrade"); len(offers) != 1 || !isWebSocketToken(offers[0]) {
		return fmt.Errorf("upgrade %q is not exactly websocket", offers)
	}
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		return fmt.Errorf("%d Sec-WebSocket-Key values", len(keys))
	}
	if raw, err := base64.StdEncoding.Strict().DecodeString(keys[0]); err != nil || len(raw) != 16 {
		return errors.New("Sec-WebSocket-Key is not the base64 of 16 bytes")
	}
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) != 1 || v[0] != "13" {
		return fmt.Errorf("Sec-WebSocket-Version %q, want 13", v)
	}
	return nil
}

// dropUpgradeOffer removes an upgrade offer the proxy does not take: Upgrade itself and the
// upgrade and http2-settings tokens of Connection, so that the request goes on as an ordinary one.
func dropUpgradeOffer(h http.Header) {
	h.Del("Upgrade")
	conn := h.Values("Connection")
	if len(conn) == 0 {
		return
	}
	var keep []string
	for _, v := range conn {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && !strings.EqualFold(tok, "upgrade") && !strings.EqualFold(tok, "http2-settings") {
				keep = append(keep, tok)
			}
		}
	}
	h.Del("Connection")
	if len(keep) > 0 {
		h.Set("Connection", strings.Join(keep, ", "))
	}
}

// checkUpgradeResponse is the response check of the reverse proxy (ModifyResponse): a 101 must
// complete the WebSocket handshake the proxy forwarded; any other answer to a request that
// offered an upgrade closes the client connection after it, since a connection that offered an
// upgrade is never reused.
func checkUpgradeResponse(res *http.Response, websocketKey string, offered bool) error {
	if res.StatusCode != http.StatusSwitchingProtocols {
		if offered {
			res.Header.Set("Connection", "close")
		}
		return nil
	}
	if websocketKey == "" {
		return fmt.Errorf("%w: no WebSocket upgrade was forwarded", errBadUpgradeResponse)
	}
	if up := res.Header.Values("Upgrade"); len(up) != 1 || !isWebSocketToken(up[0]) {
		return fmt.Errorf("%w: Upgrade %q", errBadUpgradeResponse, up)
	}
	if !headerHasToken(res.Header.Values("Connection"), "upgrade") {
		return fmt.Errorf("%w: Connection does not list upgrade", errBadUpgradeResponse)
	}
	if accept := res.Header.Values("Sec-Websocket-Accept"); len(accept) != 1 || accept[0] != WebSocketAccept(websocketKey) {
		return fmt.Errorf("%w: Sec-WebSocket-Accept %q does not match the key", errBadUpgradeResponse, accept)
	}
	return nil
}

// isWebSocketToken reports whether v is the one token "websocket", in any ASCII case, between
// optional whitespace. (strings.EqualFold would also take Unicode look-alikes such as U+017F.)
func isWebSocketToken(v string) bool {
	v = strings.Trim(v, " \t")
	if len(v) != len("websocket") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i] | 0x20; c != "websocket"[i] {
			return false
		}
	}
	return true
}

// headerHasToken reports whether the comma-separated values list token (case-insensitively).
func headerHasToken(values []string, token string) bool {
	return httpguts.HeaderValuesContainsToken(values, token)
}
