// Package saml implements the generic SAML 2.0 login method (identity provider type "saml"):
// Gatehouse is the service provider. It sends AuthnRequests over the HTTP-Redirect or HTTP-POST
// binding (optionally signed with RSA-SHA256), receives Responses on the ACS (the auth domain's
// callback) over HTTP-POST only, publishes SP metadata, and reads the IdP's settings by hand,
// from inline metadata or from a metadata URL.
//
// Response verification is the security boundary of this package; see verifyResponse for the
// exact rules. In short: bounded sizes, no DTDs, an XML round-trip check before any signature
// work, namespace-exact matching, exactly one plaintext Assertion, signatures checked against
// the configured certificates only, and identity read only from the element whose signature
// verified. Encrypted assertions are not supported in this release and are rejected.
package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Type is the identity provider type this package implements.
const Type = store.IdPSAML

// flowAuthAfter is the FlowData key (Unix seconds) of a forced fresh authentication: the
// assertion's AuthnInstant must not predate it.
const flowAuthAfter = "auth_after"

// FlowRequestID is the FlowData key holding the AuthnRequest ID, checked against InResponseTo.
const FlowRequestID = "saml_request_id"

// MaxBodyBytes bounds the callback request body (and so the encoded SAMLResponse).
const MaxBodyBytes = 1 << 20

// Metadata refresh timing for metadata_url.
const (
	metadataRefreshInterval = time.Hour
	metadataRetryInterval   = 5 * time.Minute
	metadataFetchTimeout    = 15 * time.Second
)

// Connector is one configured SAML identity provider.
type Connector struct {
	id  string
	cfg *Config
	env identity.Env
	now func() time.Time
	log *slog.Logger

	// idp is the current IdP view (entity ID, SSO endpoint, certificates); replaced whole by
	// a successful metadata refresh, never by a failed one.
	idp atomic.Pointer[idpState]

	// initial is closed when the first metadata fetch (started by New) has finished, whether
	// it succeeded or not; nil without metadata_url.
	initial chan struct{}

	mu          sync.Mutex // guards the refresh bookkeeping below
	refreshing  bool
	lastAttempt time.Time
	lastSuccess time.Time
}

type idpState struct {
	entityID string
	ssoURL   string
	binding  string
	certs    []*x509.Certificate
}

var (
	_ identity.RedirectConnector         = (*Connector)(nil)
	_ identity.UnsolicitedConnector      = (*Connector)(nil)
	_ identity.CallbackConnector         = (*Connector)(nil)
	_ identity.MetadataConnector         = (*Connector)(nil)
	_ identity.HeaderAttributesConnector = (*Connector)(nil)
)

// New returns the connector for a saml identity provider. It fails on an invalid configuration,
// when sign_request is set without an RSA signing key and certificate in env, and without a
// replay cache. With metadata_url the first fetch of the metadata starts here in the background
// (so building connectors on a configuration reload never waits for an IdP), and the first login
// waits for it; when it fails the connector logs in nobody until a later fetch succeeds (retried
// on use, at most every five minutes), and the failure is logged.
func New(idp store.IdentityProvider, env identity.Env) (*Connector, error) {
	if idp.Type != "" && idp.Type != Type {
		return nil, fmt.Errorf("saml: identity provider %q has type %q", idp.ID, idp.Type)
	}
	cfg, err := ParseConfig(idp.Config)
	if err != nil {
		return nil, fmt.Errorf("saml identity provider %q: %w", idp.ID, err)
	}
	return newConnector(idp.ID, cfg, env)
}

func newConnector(id string, cfg *Config, env identity.Env) (*Connector, error) {
	if env.Replay == nil {
		return nil, fmt.Errorf("saml identity provider %q: a replay cache is required", id)
	}
	if cfg.EnableEncryption && (len(env.Decrypters) == 0 || len(env.EncryptionCertificates) == 0) {
		return nil, fmt.Errorf("saml identity provider %q: enable_encryption needs Gatehouse's SAML encryption key", id)
	}
	if cfg.SignRequest {
		if env.Signer == nil || env.Certificate == nil {
			return nil, fmt.Errorf("saml identity provider %q: sign_request needs Gatehouse's signing key and certificate", id)
		}
		if _, ok := env.Signer.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("saml identity provider %q: sign_request needs an RSA signing key (RSA-SHA256)", id)
		}
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	c := &Connector{id: id, cfg: cfg, env: env, now: env.Now, log: env.Log.With("idp", id, "idp_type", Type)}
	if cfg.MetadataURL == "" {
		c.idp.Store(&idpState{entityID: cfg.IssuerURL, ssoURL: cfg.SSOURL, binding: cfg.Binding, certs: cfg.Certs})
		c.warnExpired(cfg.Certs)
		return c, nil
	}
	c.initial = make(chan struct{})
	c.refreshing = true
	go func() {
		defer close(c.initial)
		defer func() { c.mu.Lock(); c.refreshing = false; c.mu.Unlock() }()
		ctx, cancel := context.WithTimeout(context.Background(), metadataFetchTimeout)
		defer cancel()
		if err := c.Refresh(ctx); err != nil {
			c.log.Warn("SAML metadata unavailable: logins with this IdP fail until it can be fetched", "err", err)
		}
	}()
	return c, nil
}

func (c *Connector) warnExpired(certs []*x509.Certificate) {
	now := c.now()
	for _, cert := range certs {
		if now.After(cert.NotAfter) {
			c.log.Warn("a configured IdP signing certificate has expired and is no longer trusted",
				"subject", cert.Subject.String(), "not_after", cert.NotAfter)
		}
	}
}

// Type implements identity.Connector.
func (c *Connector) Type() string { return Type }

// Config returns the parsed configuration (shared; do not modify).
func (c *Connector) Config() *Config { return c.cfg }

// HeaderAttributes implements identity.HeaderAttributesConnector: attribute name -> header name.
func (c *Connector) HeaderAttributes() map[string]string {
	if len(c.cfg.HeaderAttributes) == 0 {
		return nil
	}
	m := make(map[string]string, len(c.cfg.HeaderAttributes))
	for _, h := range c.cfg.HeaderAttributes {
		m[h.AttributeName] = h.HeaderName
	}
	return m
}

// Refresh fetches metadata_url now. On success the new entity, endpoint and certificates
// replace the old ones; on failure the last good ones stay in use and the error is returned.
func (c *Connector) Refresh(ctx context.Context) error {
	if c.cfg.MetadataURL == "" {
		return nil
	}
	c.mu.Lock()
	c.lastAttempt = c.now()
	c.mu.Unlock()
	st, err := c.fetchState(ctx)
	if err != nil {
		return err
	}
	c.idp.Store(st)
	c.mu.Lock()
	c.lastSuccess = c.now()
	c.mu.Unlock()
	c.warnExpired(st.certs)
	return nil
}

func (c *Connector) fetchState(ctx context.Context) (*idpState, error) {
	b, err := fetchMetadata(ctx, c.env.HTTPClient, c.cfg.MetadataURL)
	if err != nil {
		return nil, err
	}
	md, err := parseIdPMetadata(b, c.cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	binding := ""
	if c.cfg.bindingSet {
		binding = c.cfg.Binding
	}
	ep, binding, err := md.endpoint(binding)
	if err != nil {
		return nil, err
	}
	return &idpState{entityID: md.EntityID, ssoURL: ep, binding: binding, certs: md.Certs}, nil
}

// state returns the current IdP view. With metadata_url it starts a background refresh when
// the view is older than an hour, and fetches synchronously when there is no view yet.
func (c *Connector) state(ctx context.Context) (*idpState, error) {
	st := c.idp.Load()
	if c.cfg.MetadataURL == "" {
		return st, nil
	}
	if st == nil {
		select {
		case <-c.initial:
		case <-ctx.Done():
			return nil, identity.Fail("saml-metadata-unavailable", fmt.Errorf("waiting for the first metadata fetch: %w", ctx.Err()))
		}
		st = c.idp.Load()
	}
	now := c.now()
	c.mu.Lock()
	due := !c.refreshing && now.Sub(c.lastAttempt) >= metadataRetryInterval &&
		(st == nil || now.Sub(c.lastSuccess) >= metadataRefreshInterval)
	if due {
		c.refreshing = true
	}
	c.mu.Unlock()
	if due {
		run := func(ctx context.Context) {
			defer func() { c.mu.Lock(); c.refreshing = false; c.mu.Unlock() }()
			ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
			defer cancel()
			if err := c.Refresh(ctx); err != nil {
				c.log.Warn("SAML metadata refresh failed; keeping the last good certificates", "err", err)
			}
		}
		if st == nil {
			run(ctx)
			st = c.idp.Load()
		} else {
			go run(context.WithoutCancel(ctx))
		}
	}
	if st == nil {
		return nil, identity.Fail("saml-metadata-unavailable", errors.New("IdP metadata has not been fetched successfully yet"))
	}
	return st, nil
}

// StartLogin implements identity.RedirectConnector: it builds an AuthnRequest for req and
// returns a redirect (HTTP-Redirect binding) or a form to post (HTTP-POST binding).
func (c *Connector) StartLogin(ctx context.Context, req identity.LoginRequest) (*identity.LoginStart, error) {
	st, err := c.state(ctx)
	if err != nil {
		return nil, err
	}
	if req.CallbackURL == "" || req.SPEntityID == "" || req.State == "" {
		return nil, errors.New("saml: login request needs State, CallbackURL and SPEntityID")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := c.now()
	el := authnRequest(id, now, st.ssoURL, req)
	start := &identity.LoginStart{FlowData: map[string]string{FlowRequestID: id}}
	if req.ForceAuthn {
		start.FlowData[flowAuthAfter] = strconv.FormatInt(now.Unix(), 10)
	}
	switch st.binding {
	case BindingPost:
		if c.cfg.SignRequest {
			if el, err = c.signEnveloped(el); err != nil {
				return nil, err
			}
		}
		b, err := serialize(el)
		if err != nil {
			return nil, err
		}
		start.PostURL = st.ssoURL
		start.PostForm = url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}, "RelayState": {req.State}}
	default:
		b, err := serialize(el)
		if err != nil {
			return nil, err
		}
		start.RedirectURL, err = c.redirectURL(st.ssoURL, b, req.State)
		if err != nil {
			return nil, err
		}
	}
	return start, nil
}

func newID() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("saml: request id: %w", err)
	}
	return "_" + hex.EncodeToString(b), nil // an NCName: may not start with a digit
}

// authnRequest builds the AuthnRequest element (schema order: Issuer, [Signature], NameIDPolicy).
func authnRequest(id string, now time.Time, dest string, req identity.LoginRequest) *etree.Element {
	el := etree.NewElement("samlp:AuthnRequest")
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", id)
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", now.UTC().Format("2006-01-02T15:04:05.000Z"))
	el.CreateAttr("Destination", dest)
	if req.ForceAuthn {
		// The IdP must authenticate the user anew; the response's AuthnInstant is checked.
		el.CreateAttr("ForceAuthn", "true")
	}
	el.CreateAttr("AssertionConsumerServiceURL", req.CallbackURL)
	el.CreateAttr("ProtocolBinding", bindingPostURN)
	el.CreateElement("saml:Issuer").SetText(req.SPEntityID)
	p := el.CreateElement("samlp:NameIDPolicy")
	p.CreateAttr("Format", nameIDEmail)
	p.CreateAttr("AllowCreate", "true")
	return el
}

func serialize(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("saml: writing XML: %w", err)
	}
	return b, nil
}

// signEnveloped signs the AuthnRequest with an enveloped RSA-SHA256 signature placed after the
// Issuer, as the schema requires.
func (c *Connector) signEnveloped(el *etree.Element) (*etree.Element, error) {
	sc, err := dsig.NewSigningContext(c.env.Signer, [][]byte{c.env.Certificate.Raw})
	if err != nil {
		return nil, fmt.Errorf("saml: signing context: %w", err)
	}
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("saml: signature method: %w", err)
	}
	sig, err := sc.ConstructSignature(el, true)
	if err != nil {
		return nil, fmt.Errorf("saml: signing AuthnRequest: %w", err)
	}
	out := el.Copy()
	out.InsertChildAt(1, sig) // after saml:Issuer
	return out, nil
}

// redirectURL encodes the request for the HTTP-Redirect binding: DEFLATE, base64, URL-encoded,
// with RelayState and, when signing, SigAlg and Signature over the exact query octets
// (SAML bindings §3.4.4.1).
func (c *Connector) redirectURL(sso string, xml []byte, relayState string) (string, error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", fmt.Errorf("saml: deflate: %w", err)
	}
	if _, err := fw.Write(xml); err != nil {
		return "", fmt.Errorf("saml: deflate: %w", err)
	}
	if err := fw.Close(); err != nil {
		return "", fmt.Errorf("saml: deflate: %w", err)
	}
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes())) +
		"&RelayState=" + url.QueryEscape(relayState)
	if c.cfg.SignRequest {
		q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
		sum := sha256.Sum256([]byte(q))
		sig, err := c.env.Signer.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("saml: signing AuthnRequest: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	u, err := url.Parse(sso)
	if err != nil {
		return "", fmt.Errorf("saml: SSO URL: %w", err)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q
	} else {
		u.RawQuery = q
	}
	return u.String(), nil
}

// SPMetadata implements identity.MetadataConnector.
func (c *Connector) SPMetadata(req identity.LoginRequest) ([]byte, error) {
	if req.SPEntityID == "" || req.CallbackURL == "" {
		return nil, errors.New("saml: SP metadata needs SPEntityID and CallbackURL")
	}
	var cert *x509.Certificate
	if c.cfg.SignRequest {
		cert = c.env.Certificate
	}
	var enc []*x509.Certificate
	if c.cfg.EnableEncryption {
		enc = c.env.EncryptionCertificates
	}
	return spMetadata(req.SPEntityID, req.CallbackURL, cert, enc)
}

// AcceptsUnsolicited implements identity.UnsolicitedConnector: IdP-initiated logins are
// accepted only with allow_idp_initiated.
func (c *Connector) AcceptsUnsolicited() bool { return c.cfg.AllowIdPInitiated }

// decrypters returns the keys encrypted assertions may be decrypted with: none unless
// enable_encryption is on.
func (c *Connector) decrypters() []crypto.Decrypter {
	if !c.cfg.EnableEncryption {
		return nil
	}
	return c.env.Decrypters
}

// limitedBody records that the callback body hit MaxBodyBytes, so that HandleCallback can
// report saml-too-large even when CallbackState parsed the form first.
type limitedBody struct {
	io.ReadCloser
	exceeded bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.exceeded = true
	}
	return n, err
}

// readForm parses the POSTed form once, with the body capped at MaxBodyBytes. Only the body
// counts: a SAMLResponse or RelayState in the URL query is ignored.
func readForm(r *http.Request) error {
	if r.Method != http.MethodPost {
		return identity.Failf("saml-unsupported-binding", "the ACS accepts HTTP-POST only, got %s", r.Method)
	}
	if r.PostForm == nil && r.Body != nil {
		r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(nil, r.Body, MaxBodyBytes)}
	}
	err := r.ParseForm()
	if lb, ok := r.Body.(*limitedBody); ok && lb.exceeded {
		return identity.Failf("saml-too-large", "callback body is larger than %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return identity.Fail("saml-bad-request", fmt.Errorf("parsing callback form: %w", err))
	}
	return nil
}

// CallbackState implements identity.CallbackConnector: the RelayState form field. The form is
// parsed (and the body consumed) here once; HandleCallback reads the same parsed form.
func (c *Connector) CallbackState(r *http.Request) (string, error) {
	if err := readForm(r); err != nil {
		return "", err
	}
	rs := r.PostForm["RelayState"]
	if len(rs) != 1 || rs[0] == "" {
		return "", identity.Fail("saml-missing-relay-state", errors.New("no single RelayState in the callback form"))
	}
	return rs[0], nil
}

// HandleCallback implements identity.CallbackConnector for the HTTP-POST binding on the ACS.
func (c *Connector) HandleCallback(ctx context.Context, r *http.Request, req identity.LoginRequest, flowData map[string]string) (*identity.Identity, error) {
	if err := readForm(r); err != nil {
		return nil, err
	}
	enc := r.PostForm["SAMLResponse"]
	if len(enc) != 1 || strings.TrimSpace(enc[0]) == "" {
		return nil, identity.Fail("saml-missing-response", errors.New("no single SAMLResponse in the callback form"))
	}
	raw, err := decodeBase64Loose(enc[0], MaxBodyBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, identity.Fail("saml-too-large", err)
		}
		return nil, identity.Fail("saml-bad-encoding", fmt.Errorf("SAMLResponse is not base64: %w", err))
	}
	st, err := c.state(ctx)
	if err != nil {
		return nil, err
	}
	var authAfter time.Time
	if v := flowData[flowAuthAfter]; v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, identity.Fail("saml-flow-invalid", errors.New("flow data has a malformed authentication time"))
		}
		authAfter = time.Unix(sec, 0)
	}
	a, err := verifyResponse(raw, &checks{
		certs:             st.certs,
		issuer:            st.entityID,
		acs:               req.CallbackURL,
		audience:          req.SPEntityID,
		requestID:         flowData[FlowRequestID],
		authAfter:         authAfter,
		allowIdPInitiated: c.cfg.AllowIdPInitiated,
		decrypters:        c.decrypters(),
		now:               c.now(),
		skew:              c.cfg.AllowedClockSkew,
	})
	if err != nil {
		return nil, err
	}
	id, err := c.identity(a)
	if err != nil {
		return nil, err
	}
	// Last: only an assertion that passed every other check is recorded as used.
	fresh, err := c.env.Replay.Remember(ctx, "saml:"+c.id+":"+a.ID, a.Expires)
	if err != nil {
		return nil, identity.Fail("saml-replay-cache-unavailable", fmt.Errorf("replay cache: %w", err))
	}
	if !fresh {
		return nil, identity.Failf("saml-replay", "assertion %s was already used", a.ID)
	}
	return id, nil
}
