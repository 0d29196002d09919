package dlp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const testProfilesYAML = `
profiles:
  - name: Customer records
    allowed_match_count: 0
    confidence_threshold: low
    entries:
      - predefined: payment_card
      - id: project-codes
        pattern: {regex: "PRJ-[0-9]{6}"}
        keywords: [project]
      - id: codenames
        word_list: {words: [bluebird, nightjar], case_sensitive: false}
`

func TestLoadProfiles(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDataset(strings.NewReader("name,account\nAda Lovelace,GB-88-1234-5678\nGrace Hopper,US-77-9999-0000\n"), bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var embedded, apart bytes.Buffer
	if err := d.WriteFile(&embedded, false); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile(&apart, true); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"customers.edm": embedded.Bytes(), "apart.edm": apart.Bytes(), "salt.b64": []byte("CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(embedded.String(), "Lovelace") || strings.Contains(embedded.String(), "1234") {
		t.Fatal("dataset file holds plaintext")
	}
	doc := testProfilesYAML + `
  - name: Customers (EDM)
    confidence_threshold: high
    allowed_match_count: 1
    entries:
      - id: customers
        dataset: {file: customers.edm}
  - name: Customers (salt apart)
    entries:
      - id: customers
        dataset: {file: apart.edm, salt_file: salt.b64}
`
	ps, err := LoadProfiles(strings.NewReader(doc), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d profiles", len(ps))
	}
	e := NewEngine(Options{})
	text := "Project PRJ-123456 (codename Nightjar) bills card 4539 1488 0343 6467 for ada LOVELACE, account GB 88 1234 5678."
	want := map[string][]string{
		"Customer records":       {"payment_card", "project-codes", "codenames"},
		"Customers (EDM)":        {"customers", "customers"},
		"Customers (salt apart)": {"customers", "customers"},
	}
	for _, p := range ps {
		v, err := e.Scan(context.Background(), strings.NewReader(text), p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range v.Findings {
			got = append(got, f.Entry)
			if f.Entry == "customers" && strings.ContainsAny(f.Sample, "aeiou0123456789") {
				t.Errorf("EDM sample not redacted: %q", f.Sample)
			}
		}
		sort.Strings(got)
		sort.Strings(want[p.Name])
		if strings.Join(got, ",") != strings.Join(want[p.Name], ",") {
			t.Errorf("%s: findings %v, want %v", p.Name, got, want[p.Name])
		}
		// Two EDM matches with allowed_match_count 1 match; one would not.
		if !v.Match {
			t.Errorf("%s: no match", p.Name)
		}
	}
}

func TestLoadProfilesErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ doc, want string }{
		{"", "empty file"},
		{"profiles: []", "no profiles"},
		{"profile: []", "field profile not found"},
		{"profiles: [{entries: [{predefined: jwt}]}]", "profiles[0].name: required"},
		{"profiles: [{name: PII, entries: [{predefined: jwt}]}]", "already a profile name"},
		{"profiles: [{name: a, entries: [{predefined: jwt}]}, {name: A, entries: [{predefined: jwt}]}]", "profiles[1].name"},
		{"profiles: [{name: a, entries: []}]", "at least one entry"},
		{"profiles: [{name: a, confidence_threshold: certain, entries: [{predefined: jwt}]}]", "want low, medium or high"},
		{"profiles: [{name: a, allowed_match_count: -1, entries: [{predefined: jwt}]}]", "must not be negative"},
		{"profiles: [{name: a, entries: [{predefined: nope}]}]", `no predefined entry "nope"`},
		{"profiles: [{name: a, entries: [{id: x}]}]", "exactly one of"},
		{"profiles: [{name: a, entries: [{id: x, pattern: {regex: a}, word_list: {words: [b]}}]}]", "exactly one of"},
		{"profiles: [{name: a, entries: [{pattern: {regex: a}}]}]", "id: required"},
		{"profiles: [{name: a, entries: [{id: jwt, pattern: {regex: a}}]}]", "predefined entry's id"},
		{"profiles: [{name: a, entries: [{id: x, pattern: {regex: '(a'}}]}]", "entries[0]: pattern"},
		{"profiles: [{name: a, entries: [{id: x, pattern: {regex: a, validation: crc}}]}]", "entries[0]: pattern"},
		{"profiles: [{name: a, entries: [{id: x, word_list: {words: [b]}, keywords: [k]}]}]", "only pattern entries"},
		{"profiles: [{name: a, entries: [{id: x, pattern: {regex: a}}, {id: x, pattern: {regex: b}}]}]", `"x" listed twice`},
		{"profiles: [{name: a, entries: [{id: x, dataset: {file: missing.edm}}]}]", "dataset: read"},
		{"profiles: [{name: a, entries: [{id: x, dataset: {}}]}]", "dataset.file: required"},
		{"profiles: [{name: a, entries: [{id: x, dataset: {file: notdataset.txt}}]}]", "not a hashed dataset"},
		// Syntax errors and repeated keys carry line and column.
		{"profiles:\n\t- name: a\n", "invalid YAML: line 2, column 1: found character that cannot start any token"},
		{"profiles:\n  - name: 'a\n", "invalid YAML: line 2, column 11: found unexpected end of stream"},
		{"profiles:\n  - name: a\n    entries: x: y\n", "invalid YAML: line 3, column 15: mapping values are not allowed"},
		{"profiles:\n  - name: a\n    name: b\n", `invalid YAML: line 3, column 5: mapping key "name" already defined at line 2`},
	}
	if err := os.WriteFile(filepath.Join(dir, "notdataset.txt"), []byte("name,ssn\nAda,123-45-6789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		_, err := LoadProfiles(strings.NewReader(c.doc), dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "123-45-6789") {
			t.Errorf("%q: error leaks dataset content: %v", c.doc, err)
		}
	}
}

func TestDatasetSaltRules(t *testing.T) {
	dir := t.TempDir()
	d, _ := NewDataset(strings.NewReader("a\nsecretvalue\n"), bytes.Repeat([]byte{1}, 16))
	var embedded, apart bytes.Buffer
	_ = d.WriteFile(&embedded, false)
	_ = d.WriteFile(&apart, true)
	emb, ap, salt := filepath.Join(dir, "e.edm"), filepath.Join(dir, "a.edm"), filepath.Join(dir, "salt")
	os.WriteFile(emb, embedded.Bytes(), 0o600)
	os.WriteFile(ap, apart.Bytes(), 0o600)
	os.WriteFile(salt, bytes.Repeat([]byte{1}, 16), 0o600)
	if _, err := ReadDatasetFile(ap, ""); err == nil || !strings.Contains(err.Error(), "give salt_file") {
		t.Errorf("salt kept apart, none given: %v", err)
	}
	if _, err := ReadDatasetFile(emb, salt); err == nil || !strings.Contains(err.Error(), "drop salt_file") {
		t.Errorf("salt embedded and given: %v", err)
	}
	got, err := ReadDatasetFile(ap, salt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hashes) != 1 || got.digest(edmNormalize("SecretValue")) != d.digest("secretvalue") {
		t.Error("dataset did not round-trip")
	}
	// A wrong salt silently matches nothing, as it must (it cannot be told
	// from a dataset without the value), so the salt file is part of the data.
	os.WriteFile(salt, bytes.Repeat([]byte{2}, 16), 0o600)
	wrong, err := ReadDatasetFile(ap, salt)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := wrong.Hashes[wrong.digest("secretvalue")]; ok {
		t.Error("matched with the wrong salt")
	}
}
