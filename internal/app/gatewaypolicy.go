package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayPolicyAdmin is admin.GatewayPolicy on the configuration file's gateway section: the
// rules as the gateway compiles them (rules.CompileExpr with gateway.lists for a single
// expression) and the DLP profiles the gateway scans with (predefined and dlp.profiles_file),
// scanned by the same engine without a payload key (findings stay redacted).
type gatewayPolicyAdmin struct {
	rules         []rules.Rule
	lists         rules.Lists
	defaultAction string
	profiles      map[string]*dlp.Profile
	profilesErr   error
	engine        *dlp.Engine
}

var _ admin.GatewayPolicy = (*gatewayPolicyAdmin)(nil)

func newGatewayPolicyAdmin(cfg *config.File) *gatewayPolicyAdmin {
	g := &gatewayPolicyAdmin{rules: slices.Clone(cfg.Gateway.Rules), lists: rules.Lists(cfg.Gateway.Lists),
		defaultAction: cmp.Or(cfg.Gateway.DefaultAction, rules.ActionAllow),
		engine:        dlp.NewEngine(dlp.Options{MaxDecodedBytes: 4 << 20})}
	slices.SortStableFunc(g.rules, func(a, b rules.Rule) int { return cmp.Compare(a.Precedence, b.Precedence) })
	custom, err := cfg.DLP.LoadProfiles()
	if err == nil {
		g.profiles, err = mcpProfiles(custom)
	}
	g.profilesErr = err
	return g
}

func (g *gatewayPolicyAdmin) Rules() ([]admin.GatewayRule, string) {
	out := make([]admin.GatewayRule, len(g.rules))
	for i, r := range g.rules {
		out[i] = admin.GatewayRule{ID: r.ID, Name: r.Name, Description: r.Description, Precedence: r.Precedence, Enabled: r.Enabled,
			Action: r.Action, Traffic: r.Traffic, Identity: r.Identity, DevicePosture: r.DevicePosture, Settings: settingsSummary(r.RuleSettings)}
	}
	return out, g.defaultAction
}

// settingsSummary describes a rule's rule_settings in a few phrases.
func settingsSummary(s rules.RuleSettings) []string {
	var out []string
	if s.BlockPageEnabled {
		out = append(out, "block page shown")
	}
	if s.BlockReason != "" {
		out = append(out, "block reason: "+s.BlockReason)
	}
	if s.BlockPage != nil {
		out = append(out, "block page at "+s.BlockPage.TargetURI)
	}
	if s.Redirect != nil {
		t := "redirect to " + s.Redirect.TargetURI
		if s.Redirect.PreservePathAndQuery {
			t += " (path and query kept)"
		}
		out = append(out, t)
	}
	if len(s.AddHeaders) > 0 {
		names := make([]string, 0, len(s.AddHeaders))
		for k := range s.AddHeaders {
			names = append(names, k)
		}
		slices.Sort(names)
		out = append(out, "adds headers "+strings.Join(names, ", "))
	}
	if s.PayloadLog != nil && s.PayloadLog.Enabled {
		out = append(out, "DLP payload log on")
	}
	if s.UntrustedCert != nil {
		out = append(out, "untrusted certificate: "+s.UntrustedCert.Action)
	}
	if s.ScanFailure != nil {
		out = append(out, "incomplete scan: "+s.ScanFailure.Action)
	}
	return out
}

func (g *gatewayPolicyAdmin) CheckExpression(src string) *admin.ExpressionProblem {
	_, err := rules.CompileExpr(src, g.lists)
	if err == nil {
		return nil
	}
	var xe *rules.ExprError
	if errors.As(err, &xe) {
		return &admin.ExpressionProblem{Line: xe.Line, Col: xe.Col, Offset: xe.Offset, Message: xe.Msg}
	}
	return &admin.ExpressionProblem{Line: 1, Col: 1, Message: err.Error()}
}

func (g *gatewayPolicyAdmin) DLPProfiles() ([]admin.DLPProfile, error) {
	if g.profilesErr != nil {
		return nil, g.profilesErr
	}
	predefined := map[string]bool{}
	for _, n := range dlp.PredefinedProfileNames() {
		predefined[dlp.ProfileID(n)] = true
	}
	out := make([]admin.DLPProfile, 0, len(g.profiles))
	for id, p := range g.profiles {
		v := admin.DLPProfile{ID: id, Name: p.Name, Type: "custom", ConfidenceThreshold: p.ConfidenceThreshold.String(),
			AllowedMatchCount: p.AllowedMatchCount}
		if predefined[id] {
			v.Type = "predefined"
		}
		for _, e := range p.Entries {
			v.Entries = append(v.Entries, admin.DLPEntry{ID: e.ID, Name: e.Name, Kind: e.Kind})
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b admin.DLPProfile) int {
		return cmp.Or(cmp.Compare(b.Type, a.Type), cmp.Compare(a.ID, b.ID)) // predefined first
	})
	return out, nil
}

func (g *gatewayPolicyAdmin) ScanText(ctx context.Context, profile, text string) (*admin.DLPScan, error) {
	if g.profilesErr != nil {
		return nil, g.profilesErr
	}
	p := g.profiles[profile]
	if p == nil {
		return nil, fmt.Errorf("DLP profile %q: %w", profile, admin.ErrNotFound)
	}
	v, err := g.engine.Scan(ctx, strings.NewReader(text), p)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, e := range p.Entries {
		names[e.ID] = e.Name
	}
	out := &admin.DLPScan{Profile: profile, Match: v.Match, MatchCount: v.MatchCount, Incomplete: v.Incomplete, Truncated: v.FindingsTruncated,
		Findings: []admin.DLPFinding{}}
	for _, f := range v.Findings {
		out.Findings = append(out.Findings, admin.DLPFinding{Entry: f.Entry, EntryName: cmp.Or(names[f.Entry], f.Entry),
			Confidence: f.Confidence.String(), Sample: f.Sample, Context: f.Context, Example: f.Example})
	}
	return out, nil
}

// NewGatewayPolicyAdmin returns admin.GatewayPolicy on the configuration file's gateway rules,
// lists and DLP profiles, as the running Gatehouse wires it (for tests of the admin API).
func NewGatewayPolicyAdmin(cfg *config.File) admin.GatewayPolicy { return newGatewayPolicyAdmin(cfg) }

// gatewayCAAdmin is admin.GatewayCAs on the store's gateway CAs, read as `gatehouse gateway ca
// list` reads them (ca.Manager.List: public certificates, never the sealed keys).
type gatewayCAAdmin struct{ m *ca.Manager }

// NewGatewayCAAdmin returns admin.GatewayCAs on the gateway CAs in st (their keys sealed under
// master; listing never unseals them). ca.ErrUnsupported when st cannot hold gateway CAs.
func NewGatewayCAAdmin(st store.Store, master []byte) (admin.GatewayCAs, error) {
	m, err := ca.NewManager(st, master, ca.Options{})
	if err != nil {
		return nil, err
	}
	return gatewayCAAdmin{m}, nil
}

func (g gatewayCAAdmin) List(ctx context.Context) ([]admin.GatewayCertificate, error) {
	infos, err := g.m.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.GatewayCertificate, len(infos))
	for i, c := range infos {
		out[i] = admin.GatewayCertificate{ID: c.ID, State: c.State, InUse: c.State == store.GatewayCAInUse, Subject: c.Subject,
			Fingerprint: c.Fingerprint, NotBefore: c.NotBefore, NotAfter: c.NotAfter, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
			CertificatePEM: c.CertificatePEM}
	}
	return out, nil
}
