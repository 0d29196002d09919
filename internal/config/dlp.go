package config

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
)

// DLP configures data loss prevention for the gateway's inspected traffic (see docs/dlp.md and
// docs/gateway.md): the operator's own profiles besides the predefined ones, how much of a body
// is scanned, and the key findings' payloads are encrypted to. Rules name profiles by id
// (dlp.profiles): "pii", "financial_information", … and each custom profile's name made an id
// the same way ("Customer records" → "customer_records").
type DLP struct {
	// ProfilesFile holds custom profiles, in the format `gatehouse dlp scan --profiles` reads
	// (Cloudflare's field names). Optional.
	ProfilesFile string `yaml:"profiles_file"`
	// MaxScanBytes is the largest request body scanned whole; a larger body is scanned as far as
	// this and its scan is incomplete (rules fail closed on it unless they say otherwise).
	// Default 16MiB, between 64KiB and 100MiB.
	MaxScanBytes ByteSize `yaml:"max_scan_bytes"`
	// PayloadLog is Cloudflare's DLP payload logging setting: rules with payload logging on log
	// each finding's match and context encrypted to this key.
	PayloadLog DLPPayloadLog `yaml:"payload_log"`
}

// DLPPayloadLog holds the public key findings' payloads are encrypted to.
type DLPPayloadLog struct {
	// PublicKey is an X25519 public key in base64, as `gatehouse dlp keygen` prints it; the
	// private key stays with whoever may read payloads (`gatehouse dlp decrypt`).
	PublicKey string `yaml:"public_key"`
}

// Default and bounds of dlp.max_scan_bytes.
const (
	DefaultDLPMaxScanBytes = 16 * MiB
	minDLPMaxScanBytes     = 64 * KiB
	maxDLPMaxScanBytes     = 100 * MiB
)

func (d *DLP) setDefaults() {
	if d.MaxScanBytes == 0 {
		d.MaxScanBytes = DefaultDLPMaxScanBytes
	}
}

// PayloadKey returns the decoded payload log public key (nil when none is set).
func (d *DLP) PayloadKey() ([]byte, error) {
	if d.PayloadLog.PublicKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.PayloadLog.PublicKey))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("dlp.payload_log.public_key: want the base64 X25519 public key `gatehouse dlp keygen` prints (32 bytes)")
	}
	return k, nil
}

// LoadProfiles reads dlp.profiles_file (none when it is not set).
func (d *DLP) LoadProfiles() ([]*dlp.Profile, error) {
	if d.ProfilesFile == "" {
		return nil, nil
	}
	fh, err := os.Open(d.ProfilesFile)
	if err != nil {
		return nil, fmt.Errorf("dlp.profiles_file: cannot read %s: %w", d.ProfilesFile, errorCause(err))
	}
	defer fh.Close()
	ps, err := dlp.LoadProfiles(fh, filepath.Dir(d.ProfilesFile))
	if err != nil {
		return nil, fmt.Errorf("dlp.profiles_file: %s: %w", d.ProfilesFile, err)
	}
	return ps, nil
}

// dlp checks the dlp section without reading files: bounds, the key's form, and that rules
// name only predefined profiles when there is no profiles file (CheckEnvironment checks the
// file and the rules' custom profiles).
func (c *checker) dlp() {
	d := &c.f.DLP
	if d.MaxScanBytes < minDLPMaxScanBytes || d.MaxScanBytes > maxDLPMaxScanBytes {
		c.add("dlp.max_scan_bytes", "must be between 64KiB and 100MiB")
	}
	if _, err := d.PayloadKey(); err != nil {
		c.add("dlp.payload_log.public_key", strings.TrimPrefix(err.Error(), "dlp.payload_log.public_key: "))
	}
	if d.ProfilesFile == "" {
		s, err := upload.New(upload.Options{})
		if err == nil {
			c.issues = append(c.issues, unknownProfileIssues(&c.f.Gateway, s)...)
			c.issues = append(c.issues, mcpProfileIssues(c.f.MCPPortals, s)...)
		}
	}
}

// dlpFileIssues loads dlp.profiles_file and checks that rules name only profiles that exist.
func (f *File) dlpFileIssues() []issue {
	if f.DLP.ProfilesFile == "" {
		return nil
	}
	ps, err := f.DLP.LoadProfiles()
	if err != nil {
		return []issue{{path: "dlp.profiles_file", msg: strings.TrimPrefix(err.Error(), "dlp.profiles_file: ")}}
	}
	s, err := upload.New(upload.Options{Custom: ps})
	if err != nil {
		return []issue{{path: "dlp.profiles_file", msg: strings.TrimPrefix(err.Error(), "upload: ")}}
	}
	return append(unknownProfileIssues(&f.Gateway, s), mcpProfileIssues(f.MCPPortals, s)...)
}

// unknownProfileIssues reports every dlp.profiles value of gateway.rules (literals, sets and
// the lists they name) that is not the id of a profile the scanner knows: such a comparison
// could never match, and a rule meant to block sensitive data would silently allow it.
func unknownProfileIssues(g *Gateway, s *upload.Scanner) []issue {
	var out []issue
	for i, r := range g.Rules {
		for _, ex := range []struct{ field, src string }{{"traffic", r.Traffic}, {"identity", r.Identity}, {"device_posture", r.DevicePosture}} {
			if ex.src == "" {
				continue
			}
			e, err := rules.Parse(ex.src)
			if err != nil {
				continue // reported by the rules' own checks
			}
			var unknown []string
			for _, v := range rules.ExprStrings(e, "dlp.profiles", rules.Lists(g.Lists)) {
				if !s.HasProfile(v) && !slices.Contains(g.PromptProtection.PromptProfileIDs(), v) && !slices.Contains(unknown, v) {
					unknown = append(unknown, v)
				}
			}
			for _, v := range unknown {
				out = append(out, issue{path: fmt.Sprintf("gateway.rules[%d].%s", i, ex.field),
					msg: fmt.Sprintf("unknown DLP profile %q in dlp.profiles (profiles: %s)", v,
						strings.Join(append(s.ProfileIDs(), g.PromptProtection.PromptProfileIDs()...), ", "))})
			}
		}
	}
	return out
}
