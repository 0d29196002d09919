package extract

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// TestAdaptersAgreeWithAppLibrary: every adapter names an AI application of the library (or 0
// for generic ones), and the library's granular controls recognise each request fixture as the
// adapter's control, so a rule on app_control.controls and the extraction see the same request.
func TestAdaptersAgreeWithAppLibrary(t *testing.T) {
	lib := applib.MustDefault()
	tab := MustDefault()
	for _, a := range tab.Adapters() {
		if a.App == 0 {
			if len(a.Hosts) != 0 {
				t.Errorf("%s: a generic adapter (app 0) must not name hosts", a.ID)
			}
			continue
		}
		app := lib.App(a.App)
		if app == nil || !app.IsAI() {
			t.Errorf("%s: app %d is not an AI application of the library", a.ID, a.App)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	checked := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCapture(raw, 0)
		if err != nil || !c.IsRequest {
			continue
		}
		a := tab.Adapter(filepath.Base(filepath.Dir(f)))
		if a == nil || a.App == 0 {
			continue
		}
		app := lib.App(a.App)
		if matches := lib.Lookup(c.Host); !slices.ContainsFunc(matches, func(m applib.Match) bool { return m.App == app }) {
			t.Errorf("%s: the library does not place host %s in %s", f, c.Host, app.Name)
		}
		if got := lib.ControlsFor(app, c.Method, c.Host, c.Path); !slices.Contains(got, string(a.Control)) {
			t.Errorf("%s: the library's controls for %s %s%s are %v, want %s", f, c.Method, c.Host, c.Path, got, a.Control)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("only %d request fixtures checked", checked)
	}
}
