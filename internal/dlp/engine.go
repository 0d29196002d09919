package dlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Options are the engine's budgets and output settings. Zero values take
// the defaults shown.
type Options struct {
	MaxDepth          int           // nested decoding layers (8)
	MaxDecodedBytes   int64         // bytes produced by all decoders together (256 MiB)
	MaxDuration       time.Duration // wall time of one scan (30 s)
	MaxArchiveBytes   int64         // a zip is buffered for random access (64 MiB)
	MaxArchiveEntries int           // entries read from one zip (10000)
	MaxRunBytes       int           // longest inline base64/hex run decoded (8 MiB)
	ChunkSize         int           // bytes matched per window (256 KiB)
	KeywordWindow     int           // proximity keyword distance either side (256)
	ContextBytes      int           // context either side of a finding (40)
	MaxFindings       int           // findings kept in a verdict; counting continues (1000)
	// PayloadKey, when set, is an X25519 public key (32 bytes): each finding
	// then carries the unredacted match and context encrypted with HPKE.
	PayloadKey []byte
	// Now is the clock; tests inject one.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxDepth, 8)
	def(&o.MaxArchiveEntries, 10000)
	def(&o.MaxRunBytes, 8<<20)
	def(&o.ChunkSize, 256<<10)
	def(&o.KeywordWindow, 256)
	def(&o.ContextBytes, 40)
	def(&o.MaxFindings, 1000)
	if o.MaxDecodedBytes <= 0 {
		o.MaxDecodedBytes = 256 << 20
	}
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = 64 << 20
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Engine scans content against profiles. It is safe for concurrent use.
type Engine struct {
	opts Options
}

// NewEngine returns an engine with the given budgets.
func NewEngine(opts Options) *Engine {
	return &Engine{opts: opts.withDefaults()}
}

// Finding is one match of an entry.
type Finding struct {
	Entry      string     `json:"entry"`
	Profile    string     `json:"profile"`
	Confidence Confidence `json:"confidence"`
	// Path lists the decoding layers from the input to the stream holding
	// the match, e.g. ["gzip", "base64@120"], then how the stream was read
	// where the match was found: "+unescape" once per level of percent/JSON
	// unescaping, "+utf-16le" (etc.) for a stream read as wide text,
	// "+fold" for look-alike letters folded, "+join" for adjacent values
	// read joined.
	Path []string `json:"path,omitempty"`
	// Start and End are byte offsets in the stream named by Path (before
	// Unicode normalisation).
	Start   int64  `json:"start"`
	End     int64  `json:"end"`
	Sample  string `json:"sample"`
	Context string `json:"context"`
	Detail  string `json:"detail,omitempty"`
	// Example marks well-known documentation values; they never count.
	Example bool `json:"example,omitempty"`
	// Payload is the HPKE-encrypted unredacted match and context when the
	// engine has a PayloadKey.
	Payload []byte `json:"payload,omitempty"`
}

// Verdict is the outcome of one scan.
type Verdict struct {
	Profile string `json:"profile"`
	// Match is true when more than AllowedMatchCount counted findings were seen.
	Match      bool      `json:"match"`
	MatchCount int       `json:"match_count"`
	Findings   []Finding `json:"findings"`
	// Incomplete means part of the input was not inspected (budget exceeded
	// or a layer could not be decoded); callers must fail closed.
	Incomplete bool     `json:"incomplete"`
	Reasons    []string `json:"reasons,omitempty"`
	// FindingsTruncated is set when more than MaxFindings were seen.
	FindingsTruncated bool  `json:"findings_truncated,omitempty"`
	BytesRead         int64 `json:"bytes_read"`
	BytesDecoded      int64 `json:"bytes_decoded"`
}

// Hints describe the input when known: the HTTP Content-Type (multipart
// boundary, UTF-16/32 charset) and Content-Encoding, a list of codings in
// the order applied ("gzip, br"), each verified against the body: a body
// that does not match its declared coding makes the verdict incomplete.
type Hints struct {
	ContentType     string
	ContentEncoding string
}

// Scan reads r to the end and reports what p finds in it. The error is
// non-nil only for a nil profile or a canceled context; budget overruns and
// undecodable layers are reported in the Verdict as Incomplete.
func (e *Engine) Scan(ctx context.Context, r io.Reader, p *Profile) (Verdict, error) {
	return e.ScanHints(ctx, r, p, Hints{})
}

// ScanHints is Scan with content hints.
func (e *Engine) ScanHints(ctx context.Context, r io.Reader, p *Profile, h Hints) (Verdict, error) {
	if p == nil {
		return Verdict{}, errors.New("dlp: nil profile")
	}
	p.once.Do(func() { p.plan = compilePlan(p.Entries) })
	s := &scanner{e: e, o: e.opts, p: p, pl: p.plan, ctx: ctx, deadline: e.opts.Now().Add(e.opts.MaxDuration), rootLen: -1}
	if l, ok := r.(interface{ Len() int }); ok {
		s.rootLen = l.Len()
	}
	s.v.Profile = p.Name
	cr := &countReader{r: r}
	s.scanStream(cr, nil, 0, h)
	s.v.BytesRead = cr.n
	s.v.BytesDecoded = s.decoded
	if err := ctx.Err(); err != nil {
		s.v.Incomplete = true
		return s.v, fmt.Errorf("dlp: scan: %w", err)
	}
	sort.SliceStable(s.v.Findings, func(i, j int) bool {
		a, b := s.v.Findings[i], s.v.Findings[j]
		if len(a.Path) != len(b.Path) {
			return len(a.Path) < len(b.Path)
		}
		return a.Start < b.Start
	})
	s.v.Match = s.v.MatchCount > p.AllowedMatchCount
	return s.v, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// errBudget reports an exhausted budget; it makes the verdict incomplete.
var errBudget = errors.New("dlp: budget exceeded")

type scanner struct {
	e        *Engine
	o        Options
	p        *Profile
	pl       *plan
	ctx      context.Context
	deadline time.Time
	decoded  int64
	v        Verdict
	rec      *recordState // PII record state of the stream being matched
	// joinOnly is set while the joined form fields of a multipart body are
	// scanned: only matches that cross from one field to the next count.
	joinOnly bool
	// rootLen is the input's length when the reader tells it (bytes.Reader, strings.Reader),
	// else -1: a small input is read into a window of its size, not a whole window.
	rootLen int
}

func (s *scanner) incomplete(format string, args ...any) {
	s.v.Incomplete = true
	msg := fmt.Sprintf(format, args...)
	for _, r := range s.v.Reasons {
		if r == msg {
			return
		}
	}
	if len(s.v.Reasons) < 50 {
		s.v.Reasons = append(s.v.Reasons, msg)
	}
}

// checkTime enforces the deadline and cancellation.
func (s *scanner) checkTime() error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("dlp: %w", err)
	}
	if s.o.Now().After(s.deadline) {
		return fmt.Errorf("%w: scan time over %s", errBudget, s.o.MaxDuration)
	}
	return nil
}

// budgetReader counts decoder output against MaxDecodedBytes.
type budgetReader struct {
	s *scanner
	r io.Reader
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.s.decoded >= b.s.o.MaxDecodedBytes {
		return 0, fmt.Errorf("%w: decoded bytes over %d", errBudget, b.s.o.MaxDecodedBytes)
	}
	if rem := b.s.o.MaxDecodedBytes - b.s.decoded; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.s.decoded += int64(n)
	return n, err
}

func (s *scanner) budget(r io.Reader) io.Reader { return &budgetReader{s: s, r: r} }

func (s *scanner) addFinding(f Finding, counted bool) {
	if counted {
		s.v.MatchCount++
	}
	if len(s.v.Findings) >= s.o.MaxFindings {
		s.v.FindingsTruncated = true
		return
	}
	s.v.Findings = append(s.v.Findings, f)
}
