package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/connectors"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// builtConnector is an identity connector and the fingerprint of what it was built from.
type builtConnector struct {
	fingerprint string
	connector   identity.Connector // nil for types without a connector (onetimepin)
}

// publish compiles cfg, builds its runtime (reusing every connector whose configuration did not
// change) and swaps both in as one snapshot. On any error nothing is published and the last good
// version stays in service.
func (g *Gatehouse) publish(cfg *store.Config) error {
	g.publishMu.Lock()
	defer g.publishMu.Unlock()
	return g.publishLocked(cfg)
}

func (g *Gatehouse) publishLocked(cfg *store.Config) error {
	snap, err := snapshot.Compile(cfg, g.snapOpts)
	if err != nil {
		return fmt.Errorf("compile configuration: %w", err)
	}
	senders, err := g.buildSenders(cfg)
	if err != nil {
		return err
	}
	built, samlKeys, err := g.buildConnectors(cfg)
	if err != nil {
		return err
	}
	rt := snapshot.Runtime{Connectors: map[string]identity.Connector{}, PINSenders: senders}
	for id, b := range built {
		if b.connector == nil {
			continue
		}
		rt.Connectors[id] = b.connector
		if hc, ok := b.connector.(identity.HeaderAttributesConnector); ok {
			for _, h := range hc.HeaderAttributes() {
				rt.IdentityHeaders = append(rt.IdentityHeaders, h)
			}
		}
	}
	g.Snapshots.Store(snap.WithRuntime(rt))
	g.connectors, g.published, g.samlKeys = built, cfg, samlKeys
	return nil
}

// buildSenders prepares the PIN sender of each onetimepin identity provider.
func (g *Gatehouse) buildSenders(cfg *store.Config) (map[string]onetimepin.Sender, error) {
	senders := map[string]onetimepin.Sender{}
	for _, idp := range cfg.IdentityProviders {
		if idp.Type != store.IdPOneTimePIN {
			continue
		}
		if g.pinOverride != nil {
			senders[idp.ID] = g.pinOverride
			continue
		}
		pc, err := onetimepin.ParseConfig(idp.Config)
		if err != nil {
			return nil, fmt.Errorf("identity provider %q: %w", idp.ID, err)
		}
		if pc.SMTP == nil {
			if old := g.Snapshots.Load(); old == nil || old.PINSender(idp.ID) == nil {
				g.log.Warn("identity provider has no SMTP settings: one-time PINs are written to this log (fine for a demo, not for production)", "idp", idp.ID)
			}
			senders[idp.ID] = onetimepin.LogSender{Log: g.log}
			continue
		}
		password, err := pc.SMTP.Password.Resolve()
		if err != nil {
			return nil, fmt.Errorf("identity provider %q: smtp password: %w", idp.ID, err)
		}
		senders[idp.ID] = &onetimepin.SMTPSender{Host: pc.SMTP.Host, Port: pc.SMTP.Port, From: pc.SMTP.From,
			TLSMode: pc.SMTP.TLS, Username: pc.SMTP.Username, Password: password, OrgName: cfg.Organization.Name}
	}
	return senders, nil
}

// buildConnectors returns the connector of every identity provider of cfg: the published one
// when the provider's configuration (and, for SAML, Gatehouse's SAML keys) did not change, a new
// one otherwise. Building never waits for an identity provider (SAML metadata is fetched in the
// background), so a reload is never held up by a slow one. It also returns the fingerprint of the
// SAML keys it built with.
func (g *Gatehouse) buildConnectors(cfg *store.Config) (map[string]builtConnector, string, error) {
	env := identity.Env{HTTPClient: g.httpClient, Now: g.now, Log: g.log, Replay: replayCache{g.Store}}
	if samlIdPsWant(cfg, "sign_request") {
		if err := loadOnce(g.SAMLSPKeys); err != nil {
			return nil, "", fmt.Errorf("SAML request signing keys: %w", err)
		}
		env.Signer, _ = g.SAMLSPKeys.Signer()
		env.Certificate = g.SAMLSPKeys.Certificate()
	}
	if samlIdPsWant(cfg, "enable_encryption") {
		if err := loadOnce(g.SAMLEncKeys); err != nil {
			return nil, "", fmt.Errorf("SAML encryption keys: %w", err)
		}
		env.Decrypters, env.EncryptionCertificates = g.SAMLEncKeys.Decrypters(), g.SAMLEncKeys.Certificates()
	}
	samlKeys := g.samlKeysFingerprint()
	built := make(map[string]builtConnector, len(cfg.IdentityProviders))
	for _, idp := range cfg.IdentityProviders {
		fp, err := connectorFingerprint(idp, samlKeys)
		if err != nil {
			return nil, "", fmt.Errorf("identity provider %q: %w", idp.ID, err)
		}
		if old, ok := g.connectors[idp.ID]; ok && old.fingerprint == fp {
			built[idp.ID] = old
			continue
		}
		c, err := connectors.New(idp, env)
		if err != nil {
			return nil, "", fmt.Errorf("identity provider %q: %w", idp.ID, err)
		}
		built[idp.ID] = builtConnector{fingerprint: fp, connector: c}
	}
	return built, samlKeys, nil
}

// connectorFingerprint identifies what a connector is built from: the provider's whole
// configuration object and, for SAML, the keys it signs requests and decrypts assertions with.
func connectorFingerprint(idp store.IdentityProvider, samlKeys string) (string, error) {
	raw, err := json.Marshal(idp)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	h := sha256.New()
	h.Write(raw)
	if idp.Type == store.IdPSAML {
		h.Write([]byte("\x00" + samlKeys))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// samlKeysFingerprint identifies the SAML request-signing and encryption keys in use (kids and
// certificates of both sets; empty sets while no IdP needs them).
func (g *Gatehouse) samlKeysFingerprint() string {
	h := sha256.New()
	for _, m := range []*keys.Manager{g.SAMLSPKeys, g.SAMLEncKeys} {
		_, kid := m.Signer()
		h.Write([]byte(kid + "\x00"))
		for _, c := range m.Certificates() {
			h.Write(c.Raw)
		}
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// samlIdPsWant reports whether some SAML identity provider has the boolean option set
// (sign_request, enable_encryption).
func samlIdPsWant(cfg *store.Config, option string) bool {
	for _, idp := range cfg.IdentityProviders {
		if on, _ := idp.Config[option].(bool); on && idp.Type == store.IdPSAML {
			return true
		}
	}
	return false
}

// loadOnce loads a key set the first time it is needed (creating its first key).
func loadOnce(m *keys.Manager) error {
	if signer, _ := m.Signer(); signer != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m.Load(ctx)
}

// replayCache adapts the store to identity.ReplayCache.
type replayCache struct{ st store.Store }

func (r replayCache) Remember(ctx context.Context, key string, expires time.Time) (bool, error) {
	return r.st.RememberOnce(ctx, key, expires)
}

// Reload re-reads what changed in the store: a new configuration version is compiled, given its
// runtime and published (a version that fails is logged and the last good one stays),
// revocations and keys are reloaded, and SAML connectors are rebuilt only when the SAML keys they
// use actually changed.
func (g *Gatehouse) Reload(ctx context.Context, ch store.Change) {
	if ch.Config {
		cfg, err := g.Store.GetConfig(ctx)
		switch {
		case err != nil:
			g.log.Error("reload configuration", "err", err)
		case cfg.Version != g.Snapshots.Load().Version:
			if err := g.publish(cfg); err != nil {
				g.log.Error("configuration version rejected; keeping the last good one", "version", cfg.Version, "err", err)
				break
			}
			g.log.Info("configuration applied", "version", cfg.Version)
		}
	}
	if ch.Config && g.AppReviews != nil {
		if err := g.AppReviews.Reload(ctx); err != nil {
			g.log.Error("reload application review statuses; keeping the last ones", "err", err)
		}
		g.reloadGatewayReviews()
	}
	if ch.Revocations {
		if err := g.Revocations.Load(ctx, g.Store); err != nil {
			g.log.Error("reload revocations", "err", err)
		}
		if g.Devices != nil {
			g.Devices.Invalidate()
		}
	}
	if ch.Keys {
		g.reloadKeys(ctx)
		g.reloadGatewayCA(ctx)
	}
}

// reloadKeys reloads every key set in use; when the SAML keys changed, the published version
// is published again so that SAML connectors sign, publish and decrypt with the current keys.
func (g *Gatehouse) reloadKeys(ctx context.Context) {
	if err := g.SAMLKeys.Reload(ctx); err != nil {
		g.log.Error("reload SaaS SAML signing keys", "err", err)
	}
	for name, m := range map[string]*keys.Manager{"SAML encryption": g.SAMLEncKeys, "SAML request signing": g.SAMLSPKeys} {
		if signer, _ := m.Signer(); signer != nil {
			if err := m.Reload(ctx); err != nil {
				g.log.Error("reload "+name+" keys", "err", err)
			}
		}
	}
	if err := g.Keys.Reload(ctx); err != nil {
		g.log.Error("reload signing keys", "err", err)
	}
	g.publishMu.Lock()
	defer g.publishMu.Unlock()
	if g.published == nil || g.samlKeysFingerprint() == g.samlKeys {
		return
	}
	if err := g.publishLocked(g.published); err != nil {
		g.log.Error("rebuild identity providers after a key change", "err", err)
	}
}
