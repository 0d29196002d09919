package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// file returns the configuration file whose objects are in force.
func (g *Gatehouse) file() *config.File {
	g.fileMu.Lock()
	defer g.fileMu.Unlock()
	if g.applied != nil {
		return g.applied
	}
	return g.cfg
}

// checkObjects validates a configuration the admin API is about to store with the file's
// checks, as part of the file in force (admin.ConfigChecker).
func (g *Gatehouse) checkObjects(cfg *store.Config) []admin.Problem {
	ps := g.file().CheckObjects(cfg)
	out := make([]admin.Problem, len(ps))
	for i, p := range ps {
		out[i] = admin.Problem{Path: p.Path, Message: p.Msg}
	}
	return out
}

// adminETagKey derives the key of the admin API's ETags from the master key, so that every
// replica computes the same ETags.
func adminETagKey(master []byte) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("gatehouse admin API ETag key v1"))
	return m.Sum(nil)
}

// ApplyFile applies a new version of the configuration file while Gatehouse runs (serve does on
// SIGHUP): its objects replace the file's in the store, objects created through the admin API
// are kept, and this process serves the result at once (other replicas within their watch).
// A file that fails (a validation problem, an id an API object has, an API object that would
// refer to something the file no longer declares) changes nothing: the error is returned and
// Gatehouse keeps running on the configuration it had. Only the access objects and the
// organization are re-read, and a changed auth_domain or wire profile is refused; listeners, storage, TLS, the gateway, DLP and the other process
// settings take effect at the next start.
func (g *Gatehouse) ApplyFile(ctx context.Context, f *config.File) error {
	// The auth domain and wire profile are built into the signing keys, cookies and every
	// surface's URLs at start; a reload cannot move them.
	var applied *store.Config
	var err error
	if cur := g.file().Organization; f.Organization.AuthDomain != cur.AuthDomain || f.Organization.Wire != cur.Wire {
		err = fmt.Errorf("organization.auth_domain and organization.wire take effect at the next start, not on a reload (running with %s, %s)",
			cur.AuthDomain, cur.Wire)
	} else {
		applied, err = f.Apply(ctx, g.Store)
	}
	result, reasons := store.AuditSuccess, []string(nil)
	if err != nil {
		result, reasons = store.AuditFailure, []string{"invalid-configuration"}
	}
	details, _ := json.Marshal(map[string]any{"file": f.Name(), "reload": true})
	target := ""
	if applied != nil {
		target = strconv.FormatInt(applied.Version, 10)
	}
	if aerr := g.Authn.Audit.Record(ctx, &store.AuditEvent{ActorType: store.ActorSystem, Actor: "config-file", Action: "config.apply",
		TargetType: "config", TargetID: target, Result: result, Reasons: reasons, Details: details}); aerr != nil {
		g.log.Error("configuration reload not recorded in the audit log", "err", aerr)
	}
	if err != nil {
		g.log.Error("configuration file not applied; keeping the current configuration", "file", f.Name(), "err", err)
		return fmt.Errorf("apply configuration: %w", err)
	}
	g.fileMu.Lock()
	g.applied = f
	g.fileMu.Unlock()
	g.Reload(ctx, store.Change{Config: true})
	g.log.Info("configuration file applied", "file", f.Name(), "version", applied.Version)
	return nil
}

// fileLabel names the configuration file in the admin API's messages: its base name, not the
// path on this machine.
func fileLabel(f *config.File) string {
	if n := f.Name(); n != "" {
		return filepath.Base(n)
	}
	return ""
}
