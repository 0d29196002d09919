package promptlog

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestEntryJSONGolden pins the JSON of an entry (gateway-ai-spec §4.4, as the admin API and
// `ai logs --json` show it) and of a payload inside its envelope.
func TestEntryJSONGolden(t *testing.T) {
	e := sampleEntry()
	e.ID, e.Time, e.User.Email = 42, time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC), "alice@example.com"
	e.PayloadEnc = []byte{2, 0xde, 0xad, 0xbe, 0xef}
	b, err := json.MarshalIndent(map[string]any{
		"entry": e,
		"payload": sealed{V: payloadVersion, Payload: Payload{Prompt: "p", SystemPrompt: "s", Response: "r", Truncated: true,
			Attachments: []Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 3, SHA256: "ab"}}}},
		"minimal_payload": sealed{V: payloadVersion, Payload: Payload{Prompt: "p"}},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "entry.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(b)+"\n" {
		t.Errorf("JSON differs from %s (run with -update to accept it):\n%s", path, b)
	}

	// An entry survives the store's form and back.
	rec := e.Record()
	back := FromRecord(&rec)
	bj, _ := json.Marshal(back)
	ej, _ := json.Marshal(e)
	if string(bj) != string(ej) {
		t.Errorf("Record/FromRecord changed the entry:\n got %s\nwant %s", bj, ej)
	}
}
