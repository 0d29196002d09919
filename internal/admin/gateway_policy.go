package admin

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// ActionTestDLP records each scan of text an administrator pasted to try a DLP profile, with
// the profile and the text's size (never the text).
const ActionTestDLP = "dlp.profile.test"

// Bounds of the read-only checks.
const (
	// MaxExpressionBytes bounds an expression given to CheckGatewayExpression.
	MaxExpressionBytes = 8 << 10
	// MaxDLPTestBytes bounds the text given to TestDLPProfile.
	MaxDLPTestBytes = 32 << 10
)

// GatewayPolicy is the gateway's policy as the configuration file declares it (gateway.rules,
// gateway.lists, the dlp section), read-only: the rules in force, a check of one expression
// with the gateway's own compiler and lists, the DLP profiles and a scan of text with the
// gateway's DLP engine. The composition root wires an implementation (package admin does not
// know the gateway's packages).
type GatewayPolicy interface {
	// Rules returns gateway.rules in precedence order (ties in file order), disabled ones
	// included, and the action when no rule matches.
	Rules() (rules []GatewayRule, defaultAction string)
	// CheckExpression compiles a traffic or identity expression as the gateway does; nil when
	// it compiles.
	CheckExpression(src string) *ExpressionProblem
	// DLPProfiles returns the predefined and custom profiles by id.
	DLPProfiles() ([]DLPProfile, error)
	// ScanText scans text with the profile whose id is given; ErrNotFound for none.
	ScanText(ctx context.Context, profile, text string) (*DLPScan, error)
}

// GatewayRule is one HTTP rule of the file (Cloudflare's field names) with its settings
// summarised for people.
type GatewayRule struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description,omitempty"`
	Precedence    int      `json:"precedence"`
	Enabled       bool     `json:"enabled"`
	Action        string   `json:"action"`
	Traffic       string   `json:"traffic"`
	Identity      string   `json:"identity"`
	DevicePosture string   `json:"device_posture"`
	Settings      []string `json:"rule_settings_summary"`
}

// ExpressionProblem says why an expression does not compile and where (Line and Col from 1,
// Col counting bytes; Offset in bytes from 0).
type ExpressionProblem struct {
	Line    int    `json:"line"`
	Col     int    `json:"column"`
	Offset  int    `json:"offset"`
	Message string `json:"message"`
}

// DLPProfile is a DLP profile with its detection entries.
type DLPProfile struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Type                string     `json:"type"` // predefined or custom
	ConfidenceThreshold string     `json:"confidence_threshold"`
	AllowedMatchCount   int        `json:"allowed_match_count"`
	Entries             []DLPEntry `json:"entries"`
}

// DLPEntry is one detection entry of a profile.
type DLPEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// DLPScan is the outcome of scanning text with a profile: findings carry the engine's redacted
// sample and context only.
type DLPScan struct {
	Profile    string       `json:"profile"`
	Match      bool         `json:"match"`
	MatchCount int          `json:"match_count"`
	Incomplete bool         `json:"incomplete"`
	Truncated  bool         `json:"findings_truncated"`
	Findings   []DLPFinding `json:"findings"`
}

// DLPFinding is one finding of a DLP scan, redacted.
type DLPFinding struct {
	Entry      string `json:"entry"`
	EntryName  string `json:"entry_name"`
	Confidence string `json:"confidence"`
	Sample     string `json:"sample"`
	Context    string `json:"context"`
	Example    bool   `json:"example,omitempty"`
}

func (s *Service) gatewayPolicy() (GatewayPolicy, error) {
	if s.GatewayPolicy == nil {
		return nil, fmt.Errorf("%w: the gateway's policy is not available in this process", ErrNotFound)
	}
	return s.GatewayPolicy, nil
}

// GatewayRules returns the gateway's HTTP rules in precedence order and the default action.
func (s *Service) GatewayRules() ([]GatewayRule, string, error) {
	g, err := s.gatewayPolicy()
	if err != nil {
		return nil, "", err
	}
	rs, def := g.Rules()
	return rs, def, nil
}

// CheckGatewayExpression compiles a traffic or identity expression with the gateway's compiler,
// fields and lists: nil when it compiles. An expression longer than MaxExpressionBytes or not
// UTF-8 is invalid.
func (s *Service) CheckGatewayExpression(src string) (*ExpressionProblem, error) {
	g, err := s.gatewayPolicy()
	if err != nil {
		return nil, err
	}
	if len(src) > MaxExpressionBytes {
		return nil, fmt.Errorf("%w: the expression is longer than %d bytes", ErrInvalid, MaxExpressionBytes)
	}
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("%w: the expression is not UTF-8 text", ErrInvalid)
	}
	return g.CheckExpression(src), nil
}

// DLPProfiles returns the DLP profiles the gateway knows.
func (s *Service) DLPProfiles() ([]DLPProfile, error) {
	g, err := s.gatewayPolicy()
	if err != nil {
		return nil, err
	}
	return g.DLPProfiles()
}

// TestDLPProfile scans text an administrator supplies with a profile and records the test in
// the audit log (the profile and the text's size, never the text); a test that cannot be
// recorded is refused. Text longer than MaxDLPTestBytes is invalid.
func (s *Service) TestDLPProfile(ctx context.Context, a Actor, profile, text string) (*DLPScan, error) {
	g, err := s.gatewayPolicy()
	var out *DLPScan
	if err == nil && len(text) > MaxDLPTestBytes {
		err = fmt.Errorf("%w: the text is longer than %d bytes", ErrInvalid, MaxDLPTestBytes)
	}
	if err == nil {
		out, err = g.ScanText(ctx, profile, text)
	}
	details := map[string]any{"profile": profile, "bytes": len(text)}
	if out != nil {
		details["match_count"] = out.MatchCount
	}
	if err := s.finish(ctx, a, ActionTestDLP, "dlp_profile", profile, details, err); err != nil {
		return nil, err
	}
	return out, nil
}
