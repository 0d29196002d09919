package dlp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// secretsCorpusSeed and secretsPerKind fix the corpus every comparison uses.
const (
	secretsCorpusSeed = 20261122
	secretsPerKind    = 40
)

// lineSpan is a 1-based inclusive line range a tool reported.
type lineSpan [2]int

// secretsScore is one tool's result on the secrets corpus.
type secretsScore struct {
	tp, fn, fp  int
	perKind     map[string][2]int // kind -> found, total
	fpPerNeg    map[string]int    // negative kind (or "extra:"+kind) -> documents with a false finding
	missedNames []string
}

func (s secretsScore) recall() float64    { return ratio(s.tp, s.tp+s.fn) }
func (s secretsScore) precision() float64 { return ratio(s.tp, s.tp+s.fp) }

// scoreSecrets scores reported spans per document: a credential counts as
// found when a span overlaps its lines; a document holding a span that
// overlaps no credential (every span of a hard negative) is one false
// positive.
func scoreSecrets(docs []secretDoc, found map[string][]lineSpan) secretsScore {
	sc := secretsScore{perKind: map[string][2]int{}, fpPerNeg: map[string]int{}}
	for _, d := range docs {
		spans := found[d.Name]
		hit, extra := false, false
		for _, sp := range spans {
			if d.Kind != "" && sp[0] <= d.Lines[1] && d.Lines[0] <= sp[1] {
				hit = true
			} else {
				extra = true
			}
		}
		if d.Kind != "" {
			pk := sc.perKind[d.Kind]
			pk[1]++
			if hit {
				sc.tp++
				pk[0]++
			} else {
				sc.fn++
				sc.missedNames = append(sc.missedNames, d.Name)
			}
			sc.perKind[d.Kind] = pk
		}
		if extra {
			sc.fp++
			k := negKind(d.Name)
			if d.Kind != "" {
				k = "extra:" + d.Kind
			}
			sc.fpPerNeg[k]++
		}
	}
	return sc
}

func negKind(name string) string {
	if i := strings.Index(name, "-neg-"); i >= 0 {
		k := name[i+5:]
		return strings.TrimSuffix(k, filepath.Ext(k))
	}
	return name
}

// gatehouseSecretSpans scans every document with the Credentials and
// Secrets profile and returns the lines of its counted findings. Findings
// inside a decoded layer are placed at the line of the encoded run.
func gatehouseSecretSpans(t testing.TB, docs []secretDoc) map[string][]lineSpan {
	t.Helper()
	eng := NewEngine(Options{})
	p, err := PredefinedProfile(ProfileCredentials)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]lineSpan{}
	for _, d := range docs {
		v, err := eng.Scan(context.Background(), strings.NewReader(d.Text), p)
		if err != nil {
			t.Fatal(err)
		}
		if v.Incomplete {
			t.Errorf("%s: incomplete verdict: %v", d.Name, v.Reasons)
		}
		for _, f := range v.Findings {
			if f.Example || f.Confidence < p.ConfidenceThreshold {
				continue
			}
			start, end := f.Start, f.End
			if len(f.Path) > 0 {
				if i := strings.LastIndexByte(f.Path[0], '@'); i >= 0 {
					if off, err := strconv.ParseInt(f.Path[0][i+1:], 10, 64); err == nil {
						start, end = off, off+1
					}
				}
			}
			out[d.Name] = append(out[d.Name], lineSpan{lineAt(d.Text, start), lineAt(d.Text, max(start, end-1))})
		}
	}
	return out
}

func lineAt(text string, off int64) int {
	off = min(max(off, 0), int64(len(text)))
	return strings.Count(text[:off], "\n") + 1
}

// TestSecretsCorpus holds Gatehouse's own secrets precision and recall on
// the labelled corpus to a floor, per credential kind and overall.
func TestSecretsCorpus(t *testing.T) {
	docs := secretsCorpus(secretsCorpusSeed, secretsPerKind)
	sc := scoreSecrets(docs, gatehouseSecretSpans(t, docs))
	t.Logf("gatehouse: recall %.3f precision %.3f (tp %d fn %d fp %d)", sc.recall(), sc.precision(), sc.tp, sc.fn, sc.fp)
	for _, k := range secretKinds {
		pk := sc.perKind[k]
		if r := ratio(pk[0], pk[1]); r < 0.95 {
			t.Errorf("%s: recall %.2f below 0.95 (%d of %d)", k, r, pk[0], pk[1])
		}
	}
	for k, n := range sc.fpPerNeg {
		if n > secretsPerKind/20 {
			t.Errorf("%s: %d of %d documents with a false finding", k, n, secretsPerKind)
		}
	}
	if sc.precision() < 0.97 || sc.recall() < 0.97 {
		t.Errorf("overall precision %.3f / recall %.3f below 0.97", sc.precision(), sc.recall())
	}
	if t.Failed() {
		for _, n := range sc.missedNames {
			for _, d := range docs {
				if d.Name == n {
					t.Logf("missed %s:\n%s", n, d.Text)
				}
			}
		}
	}
}

// gitleaksBinary finds gitleaks: $GATEHOUSE_GITLEAKS, the project's
// .tools/bin (where `make deps` installs it), or PATH.
func gitleaksBinary() string {
	if p := os.Getenv("GATEHOUSE_GITLEAKS"); p != "" {
		return p
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, ".tools", "bin", "gitleaks")
				if _, err := os.Stat(p); err == nil {
					return p
				}
				break
			}
		}
	}
	p, _ := exec.LookPath("gitleaks")
	return p
}

// TestInteropGitleaksSecrets runs gitleaks (default rules) and Gatehouse
// on the same secrets corpus, one file per document, and compares
// precision and recall side by side. Gatehouse's recall must be at least
// gitleaks'. With GATEHOUSE_DLP_SECRETS_REPORT set, the comparison is
// written there as Markdown (bench/dlp.sh puts it in bench/RESULTS.md).
func TestInteropGitleaksSecrets(t *testing.T) {
	bin := gitleaksBinary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("gitleaks not installed (make deps installs it into .tools/bin)")
		}
		t.Skip("gitleaks not installed; run make deps")
	}
	docs := secretsCorpus(secretsCorpusSeed, secretsPerKind)
	dir := t.TempDir()
	corpusDir := filepath.Join(dir, "corpus")
	if err := os.Mkdir(corpusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := os.WriteFile(filepath.Join(corpusDir, d.Name), []byte(d.Text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := filepath.Join(dir, "gitleaks.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "dir", "--no-banner", "--log-level", "error", "--exit-code", "0",
		"--report-format", "json", "--report-path", report, corpusDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gitleaks: %v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var findings []struct {
		File      string
		StartLine int
		EndLine   int
		RuleID    string
	}
	if err := json.Unmarshal(raw, &findings); err != nil {
		t.Fatalf("gitleaks report: %v", err)
	}
	glSpans := map[string][]lineSpan{}
	for _, f := range findings {
		name := filepath.Base(f.File)
		glSpans[name] = append(glSpans[name], lineSpan{f.StartLine, max(f.StartLine, f.EndLine)})
	}
	gl := scoreSecrets(docs, glSpans)
	gh := scoreSecrets(docs, gatehouseSecretSpans(t, docs))

	version := "gitleaks"
	// go install leaves `gitleaks version` unset; the build info has it.
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" {
				version += " " + f[2]
				break
			}
		}
	}
	md := secretsComparisonMarkdown(docs, gh, gl, version)
	t.Log("\n" + md)
	if p := os.Getenv("GATEHOUSE_DLP_SECRETS_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if gh.recall() < gl.recall() {
		t.Errorf("gatehouse recall %.3f below gitleaks' %.3f", gh.recall(), gl.recall())
	}
	for _, k := range secretKinds {
		if g, l := gh.perKind[k], gl.perKind[k]; g[0] < l[0] {
			t.Errorf("%s: gatehouse found %d, gitleaks %d", k, g[0], l[0])
		}
	}
	if gh.precision() < gl.precision() {
		t.Errorf("gatehouse precision %.3f below gitleaks' %.3f", gh.precision(), gl.precision())
	}
}

func secretsComparisonMarkdown(docs []secretDoc, gh, gl secretsScore, version string) string {
	pos := 0
	for _, d := range docs {
		if d.Kind != "" {
			pos++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Secrets corpus: %d files (%d credentials of %d kinds, %d hard negatives of %d kinds; seed %d), "+
		"one file each; a credential is found when a finding overlaps its lines. Gatehouse: profile \"%s\"; %s: `dir` "+
		"with its default rules.\n\n", len(docs), pos, len(secretKinds), len(docs)-pos, len(secretNegatives),
		secretsCorpusSeed, ProfileCredentials, version)
	b.WriteString("| | recall | precision | found | missed | files with a false finding |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| gatehouse | %.3f | %.3f | %d | %d | %d |\n", gh.recall(), gh.precision(), gh.tp, gh.fn, gh.fp)
	fmt.Fprintf(&b, "| gitleaks | %.3f | %.3f | %d | %d | %d |\n\n", gl.recall(), gl.precision(), gl.tp, gl.fn, gl.fp)
	b.WriteString("| credential kind | gatehouse found | gitleaks found |\n|---|---|---|\n")
	for _, k := range secretKinds {
		g, l := gh.perKind[k], gl.perKind[k]
		fmt.Fprintf(&b, "| %s | %d/%d | %d/%d |\n", k, g[0], g[1], l[0], l[1])
	}
	keys := map[string]bool{}
	for k := range gh.fpPerNeg {
		keys[k] = true
	}
	for k := range gl.fpPerNeg {
		keys[k] = true
	}
	if len(keys) > 0 {
		b.WriteString("\n| false findings in | gatehouse | gitleaks |\n|---|---|---|\n")
		ks := make([]string, 0, len(keys))
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			fmt.Fprintf(&b, "| %s | %d | %d |\n", k, gh.fpPerNeg[k], gl.fpPerNeg[k])
		}
	}
	return b.String()
}
