package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dlpRules = `gateway:
  lists: {sensitive: [pii, credentials_and_secrets]}
  rules:
    - id: block-pii-to-ai
      name: No PII or secrets to AI apps
      precedence: 10
      enabled: true
      action: block
      traffic: any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in $sensitive)
    - id: customers
      name: Customer records
      precedence: 20
      enabled: true
      action: block
      traffic: any(dlp.profiles[*] == "customer_records")
`

func TestDLPSection(t *testing.T) {
	f, err := Parse([]byte(head+"dlp: {}\n"), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.DLP.MaxScanBytes != DefaultDLPMaxScanBytes {
		t.Errorf("default max_scan_bytes = %v", f.DLP.MaxScanBytes)
	}
	if k, err := f.DLP.PayloadKey(); k != nil || err != nil {
		t.Errorf("no key set: %v %v", k, err)
	}

	_, err = Parse([]byte(head+"dlp:\n  max_scan_bytes: 1KiB\n  payload_log: {public_key: not-a-key}\n"), "gatehouse.yaml")
	got := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{"dlp.max_scan_bytes: must be between 64KiB and 100MiB", "dlp.payload_log.public_key: want the base64 X25519 public key"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	key := "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
	f, err = Parse([]byte(head+"dlp: {payload_log: {public_key: "+key+"}}\n"), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := f.DLP.PayloadKey(); len(k) != 32 || err != nil {
		t.Errorf("payload key = %d bytes, %v", len(k), err)
	}
}

// TestDLPRuleProfiles: a rule naming a profile that does not exist is a configuration error (it
// could never match, so a rule meant to block would allow everything); custom profiles count
// once their file is read.
func TestDLPRuleProfiles(t *testing.T) {
	_, err := Parse([]byte(head+dlpRules), "gatehouse.yaml")
	got := strings.Join(problemsOf(t, err), "\n")
	if !strings.Contains(got, `gateway.rules[1].traffic: unknown DLP profile "customer_records" in dlp.profiles (profiles: all_predefined, credentials_and_secrets, financial_information, national_identifiers, pii, source_code, ai_prompt_ai_security, ai_prompt_pii, ai_prompt_technical, ai_prompt_customer, ai_prompt_financial_information)`) ||
		strings.Contains(got, "rules[0]") {
		t.Fatalf("problems:\n%s", got)
	}
	// The AI prompt profiles are known: their detection entries are the prompt topics.
	prompts := strings.Replace(dlpRules, "[pii, credentials_and_secrets]", "[pii, ai_prompt_pii, ai_prompt_ai_security]", 1)
	_, err = Parse([]byte(head+prompts), "gatehouse.yaml")
	if got := strings.Join(problemsOf(t, err), "\n"); strings.Contains(got, "rules[0]") {
		t.Fatalf("the AI prompt profiles were refused:\n%s", got)
	}
	typo := strings.Replace(dlpRules, "[pii, credentials_and_secrets]", "[pii, credentials]", 1)
	_, err = Parse([]byte(head+typo), "gatehouse.yaml")
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, `gateway.rules[0].traffic: unknown DLP profile "credentials"`) {
		t.Fatalf("a list value naming no profile:\n%s", got)
	}

	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles.yaml")
	if err := os.WriteFile(profiles, []byte("profiles:\n  - name: Customer records\n    entries:\n      - id: codes\n        word_list: {words: [bluebird]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(head + "dlp: {profiles_file: profiles.yaml}\n" + dlpRules)
	f, err := LoadOffline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err = Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.DLP.ProfilesFile != profiles {
		t.Errorf("profiles_file resolved to %q, want %q (relative to the configuration file)", f.DLP.ProfilesFile, profiles)
	}
	for _, p := range problemsOf(t, f.CheckEnvironment()) {
		if strings.Contains(p, "dlp") || strings.Contains(p, "gateway") {
			t.Errorf("custom profile named by a rule reported: %s", p)
		}
	}
	ps, err := f.DLP.LoadProfiles()
	if err != nil || len(ps) != 1 || ps[0].Name != "Customer records" {
		t.Fatalf("LoadProfiles = %v, %v", ps, err)
	}

	write(head + "dlp: {profiles_file: profiles.yaml}\n" + strings.Replace(dlpRules, `"customer_records"`, `"customer_record"`, 1))
	f, err = Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(problemsOf(t, f.CheckEnvironment()), "\n"); !strings.Contains(got, `gateway.rules[1].traffic: unknown DLP profile "customer_record"`) || !strings.Contains(got, "customer_records") {
		t.Errorf("environment problems:\n%s", got)
	}
	write(head + "dlp: {profiles_file: missing.yaml}\n")
	f, err = Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(problemsOf(t, f.CheckEnvironment()), "\n"); !strings.Contains(got, "dlp.profiles_file: cannot read "+filepath.Join(dir, "missing.yaml")) {
		t.Errorf("missing profiles file:\n%s", got)
	}
}
