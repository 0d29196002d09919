package proxy

import (
	"crypto/sha1" //nolint:gosec // RFC 6455
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// websocketModel is an independent, literal reading of RFC 6455 section 4.2.1 (client handshake)
// and 4.2.2 (server answer) for the fuzz target: it shares no code with upgrade.go.
type websocketModel struct {
	method                               string
	minor                                int
	connection, upgrade, key, version    []string
	answerUpgrade, answerConn, answerAcc []string
}

func splitTokens(values []string) []string {
	var out []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			out = append(out, strings.ToLower(strings.Trim(t, " \t")))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// offersWebSocket: some Upgrade token is websocket.
func (m websocketModel) offersWebSocket() bool { return contains(splitTokens(m.upgrade), "websocket") }

// validRequest: the client handshake is acceptable.
func (m websocketModel) validRequest() bool {
	if m.method != "GET" || m.minor != 1 || !contains(splitTokens(m.connection), "upgrade") {
		return false
	}
	if len(m.upgrade) != 1 || strings.ToLower(strings.Trim(m.upgrade[0], " \t")) != "websocket" {
		return false
	}
	if len(m.key) != 1 || len(m.key[0]) != 24 || !strings.HasSuffix(m.key[0], "==") {
		return false
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i, c := range m.key[0][:22] {
		if !strings.ContainsRune(alphabet, c) || (i == 21 && strings.IndexRune(alphabet, c)%16 != 0) {
			return false // the last character carries 2 bits of the 16th byte and 4 zero bits
		}
	}
	return len(m.version) == 1 && m.version[0] == "13"
}

// validAnswer: the origin's 101 completes the handshake for key.
func (m websocketModel) validAnswer(key string) bool {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) //nolint:gosec // RFC 6455
	want := base64.StdEncoding.EncodeToString(sum[:])
	return len(m.answerUpgrade) == 1 && strings.ToLower(strings.Trim(m.answerUpgrade[0], " \t")) == "websocket" &&
		contains(splitTokens(m.answerConn), "upgrade") && len(m.answerAcc) == 1 && m.answerAcc[0] == want
}

// values turns a fuzzed field into header values: absent when empty, several when it holds "\n".
func values(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// FuzzWebSocketHandshake compares the proxy's upgrade decisions with websocketModel: an upgrade
// offer is forwarded only as a valid WebSocket handshake, refused when it names websocket but is
// not valid, and otherwise removed entirely; a 101 passes only when it completes the handshake.
func FuzzWebSocketHandshake(f *testing.F) {
	accept := func(k string) string {
		sum := sha1.Sum([]byte(k + websocketGUID)) //nolint:gosec // RFC 6455
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	seeds := []struct {
		method                                   string
		minor                                    int
		conn, up, key, version, aUp, aConn, aAcc string
	}{
		{"GET", 1, "Upgrade", "websocket", key, "13", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "keep-alive, Upgrade", "WebSocket", key, "13", "WebSocket", "upgrade", accept(key)},
		{"GET", 1, "Upgrade", "websocket, h2c", key, "13", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade, HTTP2-Settings", "h2c", "", "", "h2c", "Upgrade", ""},
		{"GET", 0, "Upgrade", "websocket", key, "13", "websocket", "Upgrade", accept(key)},
		{"POST", 1, "Upgrade", "websocket", key, "13", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade", "websocket", "dGhlIHNhbXBsZSBub25jZR==", "13", "websocket", "Upgrade", accept("dGhlIHNhbXBsZSBub25jZR==")},
		{"GET", 1, "Upgrade", "websocket", key + "\n" + key, "13", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade", "websocket", key, "8", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade", "websocket", key, "13", "websocket", "Upgrade", accept(key) + "\n" + accept(key)},
		{"GET", 1, "Upgrade", "websocket", key, "13", "websocket", "", accept(key)},
		{"GET", 1, "Upgrade", "websocket\nwebsocket", key, "13", "websocket", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade", " websocket\t", key, "13", "websocket", "Upgrade", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"GET", 1, "", "TLS/1.0", "", "", "", "", ""},
		{"GET", 1, "Upgrade", "web\u017focket", key, "13", "WEBSOCKET", "Upgrade", accept(key)},
		{"GET", 1, "Upgrade", "websocket", key, "13", "web\u017focket", "Upgrade", accept(key)},
	}
	for _, s := range seeds {
		f.Add(s.method, s.minor, s.conn, s.up, s.key, s.version, s.aUp, s.aConn, s.aAcc)
	}
	f.Fuzz(func(t *testing.T, method string, minor int, conn, up, key, version, aUp, aConn, aAcc string) {
		r := &http.Request{Method: method, ProtoMajor: 1, ProtoMinor: minor, Header: http.Header{}, Body: http.NoBody}
		set := func(name string, v []string) {
			if v != nil {
				r.Header[http.CanonicalHeaderKey(name)] = v
			}
		}
		m := websocketModel{method: method, minor: minor, connection: values(conn), upgrade: values(up), key: values(key),
			version: values(version), answerUpgrade: values(aUp), answerConn: values(aConn), answerAcc: values(aAcc)}
		set("Connection", m.connection)
		set("Upgrade", m.upgrade)
		set("Sec-WebSocket-Key", m.key)
		set("Sec-WebSocket-Version", m.version)
		r.Header.Set("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")

		gotKey, offered, err := prepareUpgrade(r)
		if len(r.Header.Values("Http2-Settings")) != 0 {
			t.Fatal("HTTP2-Settings survived")
		}
		if offered != (len(m.upgrade) > 0) {
			t.Fatalf("offered = %v for Upgrade %q", offered, m.upgrade)
		}
		switch {
		case len(m.upgrade) == 0:
			if gotKey != "" || err != nil {
				t.Fatalf("no offer: key %q, err %v", gotKey, err)
			}
		case !m.offersWebSocket():
			if gotKey != "" || err != nil || len(r.Header.Values("Upgrade")) != 0 || contains(splitTokens(r.Header.Values("Connection")), "upgrade") {
				t.Fatalf("ignored offer %q: key %q, err %v, left %v", m.upgrade, gotKey, err, r.Header)
			}
		case m.validRequest():
			if err != nil || gotKey != m.key[0] {
				t.Fatalf("valid handshake refused: key %q, err %v", gotKey, err)
			}
		default:
			if err == nil || gotKey != "" {
				t.Fatalf("invalid handshake %+v accepted", m)
			}
		}

		res := &http.Response{StatusCode: http.StatusSwitchingProtocols, Header: http.Header{}}
		resSet := func(name string, v []string) {
			if v != nil {
				res.Header[http.CanonicalHeaderKey(name)] = v
			}
		}
		resSet("Upgrade", m.answerUpgrade)
		resSet("Connection", m.answerConn)
		resSet("Sec-WebSocket-Accept", m.answerAcc)
		rerr := checkUpgradeResponse(res, gotKey, offered)
		if want := gotKey != "" && m.validAnswer(gotKey); (rerr == nil) != want {
			t.Fatalf("101 %v for key %q: err %v, want accepted %v", res.Header, gotKey, rerr, want)
		}
	})
}
