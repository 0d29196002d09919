package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/yamlpos"
)

// profilesDoc is the profiles file read by `gatehouse dlp scan
// --profiles FILE`. Field names follow Cloudflare's DLP API
// (gateway-ai-spec §3.1, §3.4):
//
//	profiles:
//	  - name: Customer records
//	    allowed_match_count: 0
//	    confidence_threshold: medium
//	    entries:
//	      - predefined: payment_card
//	      - id: project-codes
//	        pattern: {regex: "PRJ-[0-9]{6}", validation: luhn}
//	        keywords: [project]
//	      - id: codenames
//	        word_list: {words: [bluebird, nightjar], case_sensitive: false}
//	      - id: customers
//	        dataset: {file: customers.edm}
type profilesDoc struct {
	Profiles []profileSpec `yaml:"profiles"`
}

type profileSpec struct {
	Name                string      `yaml:"name"`
	AllowedMatchCount   int         `yaml:"allowed_match_count"`
	ConfidenceThreshold string      `yaml:"confidence_threshold"`
	Entries             []entrySpec `yaml:"entries"`
}

type entrySpec struct {
	Predefined string `yaml:"predefined"`
	ID         string `yaml:"id"`
	Pattern    *struct {
		Regex      string `yaml:"regex"`
		Validation string `yaml:"validation"`
	} `yaml:"pattern"`
	WordList *struct {
		Words         []string `yaml:"words"`
		CaseSensitive bool     `yaml:"case_sensitive"`
	} `yaml:"word_list"`
	Dataset *struct {
		File     string `yaml:"file"`
		SaltFile string `yaml:"salt_file"`
	} `yaml:"dataset"`
	Keywords []string `yaml:"keywords"`
}

// LoadProfiles reads a profiles file (YAML, or JSON which is YAML). Unknown
// fields, a missing name, an entry that is not exactly one of predefined,
// pattern, word_list or dataset, an invalid regular expression, and a name
// that repeats a predefined profile's are errors naming the field. Dataset
// and salt files are read relative to baseDir.
func LoadProfiles(r io.Reader, baseDir string) ([]*Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dlp profiles: reading: %w", err)
	}
	// Syntax errors and repeated keys with line and column (yaml.v3 gives a line, not always
	// the right one).
	nodes, err := yamlpos.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("dlp profiles: invalid YAML: %w", err)
	}
	if len(nodes) == 0 {
		return nil, errors.New("dlp profiles: empty file")
	}
	if err := yamlpos.Duplicates(nodes[0]); err != nil {
		return nil, fmt.Errorf("dlp profiles: invalid YAML: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc profilesDoc
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("dlp profiles: empty file")
		}
		return nil, fmt.Errorf("dlp profiles: %w", err)
	}
	if len(doc.Profiles) == 0 {
		return nil, errors.New("dlp profiles: no profiles")
	}
	seen := map[string]bool{}
	for _, n := range PredefinedProfileNames() {
		seen[strings.ToLower(n)] = true
	}
	seen["all"] = true
	var out []*Profile
	for i, ps := range doc.Profiles {
		at := fmt.Sprintf("profiles[%d]", i)
		if strings.TrimSpace(ps.Name) == "" {
			return nil, fmt.Errorf("dlp profiles: %s.name: required", at)
		}
		if seen[strings.ToLower(ps.Name)] {
			return nil, fmt.Errorf("dlp profiles: %s.name: %q is already a profile name", at, ps.Name)
		}
		seen[strings.ToLower(ps.Name)] = true
		if ps.AllowedMatchCount < 0 {
			return nil, fmt.Errorf("dlp profiles: %s.allowed_match_count: must not be negative", at)
		}
		threshold := Low
		if ps.ConfidenceThreshold != "" {
			c, err := ParseConfidence(ps.ConfidenceThreshold)
			if err != nil {
				return nil, fmt.Errorf("dlp profiles: %s.confidence_threshold: want low, medium or high", at)
			}
			threshold = c
		}
		if len(ps.Entries) == 0 {
			return nil, fmt.Errorf("dlp profiles: %s.entries: at least one entry", at)
		}
		var entries []*Entry
		ids := map[string]bool{}
		for j, es := range ps.Entries {
			eat := fmt.Sprintf("%s.entries[%d]", at, j)
			e, err := es.build(baseDir)
			if err != nil {
				return nil, fmt.Errorf("dlp profiles: %s: %w", eat, err)
			}
			if ids[e.ID] {
				return nil, fmt.Errorf("dlp profiles: %s: entry %q listed twice", eat, e.ID)
			}
			ids[e.ID] = true
			entries = append(entries, e)
		}
		out = append(out, NewProfile(ps.Name, threshold, ps.AllowedMatchCount, entries...))
	}
	return out, nil
}

func (es entrySpec) build(baseDir string) (*Entry, error) {
	kinds := 0
	for _, set := range []bool{es.Predefined != "", es.Pattern != nil, es.WordList != nil, es.Dataset != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, errors.New("want exactly one of predefined, pattern, word_list, dataset")
	}
	if es.Predefined != "" {
		if es.ID != "" || len(es.Keywords) > 0 {
			return nil, errors.New("predefined entries take no id or keywords")
		}
		return PredefinedEntry(es.Predefined)
	}
	if strings.TrimSpace(es.ID) == "" {
		return nil, errors.New("id: required for custom entries")
	}
	if _, err := PredefinedEntry(es.ID); err == nil {
		return nil, fmt.Errorf("id: %q is a predefined entry's id", es.ID)
	}
	switch {
	case es.Pattern != nil:
		e, err := NewRegexEntry(es.ID, es.Pattern.Regex, es.Pattern.Validation, es.Keywords...)
		if err != nil {
			return nil, fmt.Errorf("pattern: %w", err)
		}
		return e, nil
	case es.WordList != nil:
		if len(es.Keywords) > 0 {
			return nil, errors.New("keywords: only pattern entries take keywords")
		}
		e, err := NewWordListEntry(es.ID, es.WordList.Words, es.WordList.CaseSensitive)
		if err != nil {
			return nil, fmt.Errorf("word_list: %w", err)
		}
		return e, nil
	default:
		if len(es.Keywords) > 0 {
			return nil, errors.New("keywords: only pattern entries take keywords")
		}
		if es.Dataset.File == "" {
			return nil, errors.New("dataset.file: required")
		}
		d, err := ReadDatasetFile(resolve(baseDir, es.Dataset.File), resolveOpt(baseDir, es.Dataset.SaltFile))
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		return NewEDMEntry(es.ID, d), nil
	}
}

func resolve(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

func resolveOpt(base, p string) string {
	if p == "" {
		return ""
	}
	return resolve(base, p)
}

// datasetFileFormat names the hashed dataset file format.
const datasetFileFormat = "gatehouse-edm-v1"

// datasetFile is a Dataset on disk: the salt (unless kept in a separate
// file), and per column the hex digests of its normalised cells.
type datasetFile struct {
	Format       string              `json:"format"`
	Salt         string              `json:"salt,omitempty"`
	ExternalSalt bool                `json:"external_salt,omitempty"`
	MaxWords     int                 `json:"max_words"`
	MinLen       int                 `json:"min_len"`
	Columns      map[string][]string `json:"columns"`
}

// WriteFile writes the dataset as JSON. With externalSalt the salt is left
// out and must be supplied again (ReadDatasetFile's saltFile) to scan.
func (d *Dataset) WriteFile(w io.Writer, externalSalt bool) error {
	f := datasetFile{Format: datasetFileFormat, MaxWords: d.MaxWords, MinLen: d.MinLen, Columns: map[string][]string{}}
	if externalSalt {
		f.ExternalSalt = true
	} else {
		f.Salt = base64.StdEncoding.EncodeToString(d.Salt)
	}
	for h, col := range d.Hashes {
		f.Columns[col] = append(f.Columns[col], hex.EncodeToString(h[:]))
	}
	for _, hs := range f.Columns {
		sort.Strings(hs) // the order of the map would reveal nothing, but stable output diffs well
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(f)
}

// ReadDatasetFile reads a hashed dataset written by WriteFile. saltFile
// (base64 or raw bytes) is required when the dataset was written without
// its salt, and must not be given otherwise.
func ReadDatasetFile(path, saltFile string) (*Dataset, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	d, err := parseDataset(raw, saltFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func parseDataset(raw []byte, saltFile string) (*Dataset, error) {
	var f datasetFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Format != datasetFileFormat {
		return nil, errors.New("not a hashed dataset (make one with gatehouse dlp dataset)")
	}
	var err error
	var salt []byte
	switch {
	case f.ExternalSalt && saltFile == "":
		return nil, errors.New("the dataset's salt is kept apart: give salt_file")
	case !f.ExternalSalt && saltFile != "":
		return nil, errors.New("the dataset carries its salt: drop salt_file")
	case f.ExternalSalt:
		if salt, err = ReadSaltFile(saltFile); err != nil {
			return nil, err
		}
	default:
		if salt, err = base64.StdEncoding.DecodeString(f.Salt); err != nil {
			return nil, errors.New("salt: not base64")
		}
	}
	if len(salt) < 16 {
		return nil, errors.New("salt: shorter than 16 bytes")
	}
	if f.MaxWords < 1 || f.MinLen < 1 {
		return nil, errors.New("max_words and min_len must be positive")
	}
	d := &Dataset{Salt: salt, Hashes: map[[16]byte]string{}, MaxWords: f.MaxWords, MinLen: f.MinLen}
	for col, hs := range f.Columns {
		for _, h := range hs {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 16 {
				return nil, fmt.Errorf("columns.%s: %q is not a 16-byte hex digest", col, h)
			}
			d.Hashes[[16]byte(b)] = col
		}
	}
	if len(d.Hashes) == 0 {
		return nil, errors.New("no digests")
	}
	return d, nil
}

// ReadSaltFile reads a salt kept apart from its dataset: base64 text or,
// failing that, the raw bytes.
func ReadSaltFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw))); err == nil {
		return b, nil
	}
	return raw, nil
}
