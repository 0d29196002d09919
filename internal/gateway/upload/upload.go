// Package upload owns the gateway's inspection of request bodies (uploads) in inspected traffic:
// it reads a body within a size budget, names the file types it holds by their content
// (Cloudflare's values for http.upload.file.types, including "unscannable" for encrypted
// content), scans it with the DLP profiles the HTTP policies need (package dlp: every encoding
// and container it understands), and hands the body back unchanged for forwarding. A scan that
// could not read or decode everything is incomplete, and says why: callers fail closed unless a
// rule says otherwise.
//
// Rules name DLP profiles by id (dlp.profiles): the predefined profiles' ids are "pii",
// "financial_information", "national_identifiers", "credentials_and_secrets", "source_code" and
// "all_predefined"; a custom profile's id is derived from its name the same way (ProfileID).
package upload

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

// Defaults.
const (
	// DefaultMaxBodyBytes is the largest body scanned whole (Cloudflare scans uploads up to
	// 100 MB; Gatehouse keeps the body in memory while it scans it, so the default is lower).
	DefaultMaxBodyBytes = 16 << 20
	// DefaultMaxBufferedBytes bounds the bodies held at once across all requests.
	DefaultMaxBufferedBytes = 256 << 20
	// maxMultipartParts bounds the parts of a multipart body whose types are detected.
	maxMultipartParts = 1000
)

// Reasons a scan is incomplete, besides the DLP engine's own.
const (
	ReasonTooLarge = "body-larger-than-max-scan-bytes"
	ReasonBusy     = "scan-buffer-full"
	ReasonRead     = "body-read-failed"
)

// Options configure a Scanner.
type Options struct {
	// Engine scans with DLP profiles; nil makes one with the default budgets.
	Engine *dlp.Engine
	// Custom are the operator's own profiles (dlp.LoadProfiles); their ids must not collide
	// with each other's or the predefined profiles'.
	Custom []*dlp.Profile
	// MaxBodyBytes is the largest body scanned whole; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBufferedBytes bounds the bodies held in memory at once; default
	// DefaultMaxBufferedBytes. A body that would exceed it is not buffered and its scan is
	// incomplete (ReasonBusy).
	MaxBufferedBytes int64
}

// Scanner inspects request bodies. It is safe for concurrent use.
type Scanner struct {
	engine      *dlp.Engine
	profiles    map[string]*dlp.Profile // by id
	maxBody     int64
	maxBuffered int64
	buffered    atomic.Int64
}

// ProfileID is the id rules use for a profile name (dlp.ProfileID).
func ProfileID(name string) string { return dlp.ProfileID(name) }

// New returns a Scanner with the predefined profiles and opts.Custom.
func New(opts Options) (*Scanner, error) {
	s := &Scanner{engine: opts.Engine, profiles: map[string]*dlp.Profile{}, maxBody: opts.MaxBodyBytes, maxBuffered: opts.MaxBufferedBytes}
	if s.engine == nil {
		s.engine = dlp.NewEngine(dlp.Options{})
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxBuffered <= 0 {
		s.maxBuffered = DefaultMaxBufferedBytes
	}
	if s.maxBuffered < s.maxBody {
		return nil, fmt.Errorf("upload: the buffer budget (%d bytes) is smaller than the largest body scanned (%d)", s.maxBuffered, s.maxBody)
	}
	for _, name := range dlp.PredefinedProfileNames() {
		p, err := dlp.PredefinedProfile(name)
		if err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		s.profiles[ProfileID(name)] = p
	}
	for _, p := range opts.Custom {
		id := ProfileID(p.Name)
		if id == "" {
			return nil, fmt.Errorf("upload: DLP profile %q has no letters or digits to make an id of", p.Name)
		}
		if _, dup := s.profiles[id]; dup {
			return nil, fmt.Errorf("upload: DLP profile %q has the id %q of another profile; rename it", p.Name, id)
		}
		s.profiles[id] = p
	}
	return s, nil
}

// ProfileIDs returns the ids of every profile the scanner knows, sorted.
func (s *Scanner) ProfileIDs() []string {
	ids := make([]string, 0, len(s.profiles))
	for id := range s.profiles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// HasProfile reports whether id names a profile.
func (s *Scanner) HasProfile(id string) bool { return s.profiles[id] != nil }

// Result is what a scan found.
type Result struct {
	// MatchedProfiles are the ids of the profiles that matched (dlp.profiles), in the order
	// asked.
	MatchedProfiles []string `json:"matched_profiles,omitempty"`
	// FileTypes are the file types in the body (http.upload.file.types): the body's own and
	// each multipart part's, without repeats, "unscannable" included when something is
	// encrypted.
	FileTypes []string `json:"file_types,omitempty"`
	// Size is the body's size in bytes (as far as it was read when the scan is incomplete).
	Size int64 `json:"size"`
	// Incomplete: part of the body was not inspected; Reasons say why.
	Incomplete bool     `json:"incomplete,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
	// Findings are the matches of the profiles that matched (redacted samples; payloads
	// encrypted when the engine has a payload key).
	Findings []dlp.Finding `json:"findings,omitempty"`
}

// Body is a body after its scan: read it to forward the request, then Close it to release its
// share of the buffer budget (Close does not close the original body's source beyond it).
type Body struct {
	r io.Reader
	// whole is the body when it was read whole (within the scan budget).
	whole    []byte
	rest     io.ReadCloser
	release  func()
	released atomic.Bool
}

// Whole returns the whole body as read for the scan, or nil when it was not read whole (too
// large, the buffer budget spent, a read error). The bytes must not be changed.
func (b *Body) Whole() []byte { return b.whole }

// Read reads the body as it was received.
func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// Close releases the buffer and closes the original body.
func (b *Body) Close() error {
	if b.released.CompareAndSwap(false, true) && b.release != nil {
		b.release()
	}
	if b.rest != nil {
		return b.rest.Close()
	}
	return nil
}

// Hints describe the body: its Content-Type and Content-Encoding headers.
type Hints = dlp.Hints

// Scan reads body (at most MaxBodyBytes of it), detects its file types and scans it with the
// profiles named by ids (an unknown id is an error: configuration validation should have caught
// it). The returned Body replays what was read followed by whatever was not; the caller must
// Close it. The error is non-nil only for an unknown profile or a cancelled context; everything
// else that keeps part of the body from being inspected makes the Result incomplete.
func (s *Scanner) Scan(ctx context.Context, body io.ReadCloser, h Hints, ids []string) (Result, *Body, error) {
	var res Result
	profiles := make([]*dlp.Profile, len(ids))
	for i, id := range ids {
		if profiles[i] = s.profiles[id]; profiles[i] == nil {
			return res, &Body{r: body, rest: body}, fmt.Errorf("upload: unknown DLP profile %q", id)
		}
	}
	if body == nil || body == http.NoBody {
		return res, &Body{r: bytes.NewReader(nil)}, nil
	}
	// Reserve the whole budget of one body up front: the size is unknown until read.
	if s.buffered.Add(s.maxBody) > s.maxBuffered {
		s.buffered.Add(-s.maxBody)
		res.Incomplete, res.Reasons = true, []string{ReasonBusy}
		return res, &Body{r: body, rest: body}, nil
	}
	release := func() { s.buffered.Add(-s.maxBody) }
	buf, err := io.ReadAll(io.LimitReader(body, s.maxBody+1))
	out := &Body{rest: body, release: release}
	switch {
	case err != nil:
		res.Incomplete, res.Reasons = true, []string{ReasonRead}
		out.r = io.MultiReader(bytes.NewReader(buf), errReader{err})
		res.Size = int64(len(buf))
		return res, out, ctxErr(ctx)
	case int64(len(buf)) > s.maxBody:
		res.Incomplete, res.Reasons = true, []string{ReasonTooLarge}
		out.r = io.MultiReader(bytes.NewReader(buf), body)
		buf = buf[:s.maxBody]
	default:
		out.r = bytes.NewReader(buf)
		out.whole = buf
	}
	res.Size = int64(len(buf))
	res.FileTypes = fileTypes(buf, h, s.maxBody)
	for i, p := range profiles {
		v, err := s.engine.ScanHints(ctx, bytes.NewReader(buf), p, h)
		if err != nil {
			res.Incomplete = true
			return res, out, fmt.Errorf("upload: scan: %w", err)
		}
		if v.Incomplete {
			res.Incomplete = true
			for _, r := range v.Reasons {
				res.Reasons = appendOnce(res.Reasons, ids[i]+": "+r)
			}
		}
		if v.Match {
			res.MatchedProfiles = append(res.MatchedProfiles, ids[i])
			res.Findings = append(res.Findings, v.Findings...)
		}
	}
	return res, out, nil
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// fileTypes detects the types of the body, of a gzip Content-Encoding's content, and of each
// part of a multipart body.
func fileTypes(buf []byte, h Hints, limit int64) []string {
	var types []string
	add := func(b []byte) {
		t, enc := Detect(b)
		if t != "" {
			types = appendOnce(types, t)
		}
		if enc {
			types = appendOnce(types, TypeUnscannable)
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.ContentEncoding), "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(buf)); err == nil {
			if inner, err := io.ReadAll(io.LimitReader(zr, limit)); err == nil {
				buf = inner
			}
		}
	}
	mt, params, err := mime.ParseMediaType(h.ContentType)
	if err == nil && strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		mr := multipart.NewReader(bytes.NewReader(buf), params["boundary"])
		for range maxMultipartParts {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			part, err := io.ReadAll(io.LimitReader(p, limit))
			if err != nil {
				break
			}
			add(part)
		}
		return types
	}
	add(buf)
	return types
}
