package gateway

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// TestIdentifyApp: the log entry's application comes from the library when the policies left
// it unset, never overrides what they set, and the status defaults to unreviewed.
func TestIdentifyApp(t *testing.T) {
	g := &Gateway{apps: applib.MustDefault()}
	chatgpt := g.apps.Lookup("chatgpt.com")
	if len(chatgpt) == 0 {
		t.Fatal("the catalogue does not know chatgpt.com")
	}
	cases := []struct {
		name       string
		in         entry
		wantID     int
		wantName   string
		wantStatus string
	}{
		{"catalogue host", entry{dest: Destination{Host: "chatgpt.com", Port: 443}}, chatgpt[0].App.ID, chatgpt[0].App.Name, "unreviewed"},
		{"subdomain", entry{dest: Destination{Host: "files.chatgpt.com", Port: 443}}, chatgpt[0].App.ID, chatgpt[0].App.Name, "unreviewed"},
		{"unknown host", entry{dest: Destination{Host: "example.org", Port: 443}}, 0, "", "unreviewed"},
		{"no destination", entry{}, 0, "", "unreviewed"},
		{"set by policy", entry{dest: Destination{Host: "chatgpt.com"}, appID: 7, appName: "Seven", appStatus: "approved"}, 7, "Seven", "approved"},
	}
	for _, c := range cases {
		e := c.in
		g.identifyApp(&e)
		if e.appID != c.wantID || e.appName != c.wantName || e.appStatus != c.wantStatus {
			t.Errorf("%s: got %d %q %q, want %d %q %q", c.name, e.appID, e.appName, e.appStatus, c.wantID, c.wantName, c.wantStatus)
		}
	}
	e := entry{dest: Destination{Host: "chatgpt.com", Port: 443}}
	if n := testing.AllocsPerRun(100, func() { e.appID, e.appStatus = 0, ""; g.identifyApp(&e) }); n != 0 {
		t.Errorf("identifyApp allocates %v times per call; want 0", n)
	}
}
