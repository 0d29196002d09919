package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// UploadScanner scans request bodies for the body-phase rules (dlp.profiles,
// http.upload.file.size, http.body_phase). A body is read whole (up to MaxBodyBytes) before
// anything is forwarded, scanned with every profile, and evaluated; a body that could not be
// fully inspected (too large, undecodable, out of time) is blocked: the scan fails closed.
type UploadScanner struct {
	Engine *dlp.Engine
	// Profiles are scanned in turn; a profile that matches is reported to the rules by its name
	// and by its id (the name in lower case with spaces as underscores: "PII" and "pii",
	// "Financial Information" and "financial_information").
	Profiles []*dlp.Profile
	// MaxBodyBytes bounds the body read for inspection; default 10 MiB.
	MaxBodyBytes int64
	// Timeout bounds the scans of one body; default 30s.
	Timeout time.Duration
}

// NewUploadScanner returns a scanner with the predefined profiles (except "All Predefined",
// whose entries the others cover).
func NewUploadScanner() (*UploadScanner, error) {
	s := &UploadScanner{Engine: dlp.NewEngine(dlp.Options{})}
	for _, name := range dlp.PredefinedProfileNames() {
		if name == dlp.ProfileAll {
			continue
		}
		p, err := dlp.PredefinedProfile(name)
		if err != nil {
			return nil, err
		}
		s.Profiles = append(s.Profiles, p)
	}
	return s, nil
}

// ProfileID is the id a profile is matched by in rules besides its name.
func ProfileID(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "_")
}

// errIncomplete means a body could not be fully inspected.
var errIncomplete = errors.New("gateway: the upload could not be fully inspected")

// scan reads r's body and scans it; it fills the body-phase fields of in and replaces the body
// with the bytes read. errIncomplete means the body must not go on.
func (s *UploadScanner) scan(ctx context.Context, r *http.Request, in *rules.Input) error {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = r.Body.Close()
	if err != nil {
		return errIncomplete
	}
	if int64(len(body)) > limit {
		return errIncomplete
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	in.BodyPhase = "upload"
	in.UploadFileSize = int64(len(body))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hints := dlp.Hints{ContentType: r.Header.Get("Content-Type"), ContentEncoding: r.Header.Get("Content-Encoding")}
	for _, p := range s.Profiles {
		v, err := s.Engine.ScanHints(ctx, bytes.NewReader(body), p, hints)
		if err != nil || v.Incomplete {
			return errIncomplete
		}
		if v.Match {
			in.DLPProfiles = append(in.DLPProfiles, p.Name, ProfileID(p.Name))
		}
	}
	return nil
}

// checkUpload runs the body phase for an allowed request: when some body rule can still match
// it scans the body and evaluates the body rules. It answers blocks and redirects (and bodies
// that could not be inspected: blocked) itself and reports whether the request may go on.
func (g *Gateway) checkUpload(w http.ResponseWriter, r *http.Request, e *entry, pol *Policy, st *evalState, site string) bool {
	if g.uploads == nil || pol.Rules == nil || !pol.Rules.Needs().Body() || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if !pol.Rules.MayMatch(rules.PhaseBody, rules.PhaseRequest, &st.in) {
		return true
	}
	if err := g.uploads.scan(r.Context(), r, &st.in); err != nil {
		e.ruleID, e.ruleName, e.action = "", "", rules.ActionBlock
		g.block(w, r, e, rules.Decision{Action: rules.ActionBlock, Phase: rules.PhaseBody}, site,
			"The upload could not be fully inspected, so it was not sent.")
		e.reason = "dlp-incomplete"
		return false
	}
	d := pol.Rules.EvaluateBody(&st.in)
	if !d.Matched() || d.Action == rules.ActionAllow {
		return true
	}
	e.noteDecision(d)
	return g.enforce(w, r, e, d, site)
}
