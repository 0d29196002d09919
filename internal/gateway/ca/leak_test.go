package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestNoKeyLeak formats every exported type of the package, and the store's, in every way a
// log line or an API answer could, and requires that no form of the CA private key appears.
func TestNoKeyLeak(t *testing.T) {
	clock := newTestClock()
	mgr, st := newTestManager(t, clock.Now)
	auth := activeAuthority(t, mgr)
	ctx := t.Context()
	info, err := mgr.Get(ctx, auth.ID())
	if err != nil {
		t.Fatal(err)
	}
	list, err := mgr.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetGatewayCA(ctx, auth.ID())
	if err != nil {
		t.Fatal(err)
	}
	minter := newTestMinter(t, auth, MinterOptions{Now: clock.Now})
	if _, err := minter.Certificate(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	exported, err := mgr.Export(ctx, auth.ID())
	if err != nil {
		t.Fatal(err)
	}

	priv := auth.key.(*ecdsa.PrivateKey)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(priv)
	d := priv.D.Bytes()
	secrets := map[string]string{
		"PEM header":      "PRIVATE KEY",
		"D hex":           hex.EncodeToString(d),
		"D decimal":       priv.D.String(),
		"D base64":        base64.StdEncoding.EncodeToString(d),
		"D raw":           string(d),
		"PKCS#8 base64":   base64.StdEncoding.EncodeToString(pkcs8),
		"PKCS#8 hex":      hex.EncodeToString(pkcs8),
		"SEC1 base64":     base64.StdEncoding.EncodeToString(sec1),
		"sealed hex":      hex.EncodeToString(stored.PrivateKeyEncrypted),
		"sealed base64":   base64.StdEncoding.EncodeToString(stored.PrivateKeyEncrypted),
		"sealed raw tail": string(stored.PrivateKeyEncrypted[len(stored.PrivateKeyEncrypted)-16:]),
		"D byte list":     strings.Trim(fmt.Sprint([]byte(d)), "[]"),
		"D hex bytes":     fmt.Sprintf("%#v", d)[len("[]byte{"):40],
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	secrets["PKCS#8 PEM body"] = strings.Split(pemKey, "\n")[1]

	values := map[string]any{
		"*Authority": auth, "Authority": *auth, "Info": *info, "*Info": info, "[]Info": list,
		"*Manager": mgr, "Manager": *mgr, "*Minter": minter, "MinterStats": minter.Stats(),
		"store.GatewayCA": *stored, "*store.GatewayCA": stored, "Export": string(exported),
		"[]any": []any{auth, info, stored}, "map": map[string]any{"ca": auth, "stored": stored},
	}
	var outputs []string
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			outputs = append(outputs, name+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		if j, err := json.Marshal(v); err == nil {
			outputs = append(outputs, name+" JSON: "+string(j))
		}
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("ca", "value", v)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("ca", "value", v)
		outputs = append(outputs, name+" slog text: "+text.String(), name+" slog JSON: "+js.String())
	}
	// Errors of every kind, including decrypting under a wrong master key.
	wrong, _ := NewManager(st, bytes.Repeat([]byte{1}, 32), Options{})
	_, errWrong := wrong.InUse(ctx)
	_, errState := mgr.SetState(ctx, auth.ID(), store.GatewayCAInactive)
	for _, err := range []error{errWrong, errState} {
		if err == nil {
			t.Fatal("expected an error")
		}
		outputs = append(outputs, fmt.Sprintf("error: %v %+v %#v", err, err, err))
	}

	for _, out := range outputs {
		for what, secret := range secrets {
			if secret != "" && strings.Contains(out, secret) {
				t.Errorf("%s appears in %.120s…", what, out)
			}
		}
	}
	// The formatted Authority still says which CA it is.
	if s := fmt.Sprintf("%#v", auth); !strings.Contains(s, auth.ID()) || !strings.Contains(s, auth.Fingerprint()) {
		t.Errorf("%%#v of an Authority = %q; want its ID and fingerprint", s)
	}
}
