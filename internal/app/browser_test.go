package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBrowserPINLogin logs in with a real headless Chromium: protected URL, redirect to the auth
// domain, PIN e-mail form, PIN form, hand-off, and the upstream's answer.
func TestBrowserPINLogin(t *testing.T) {
	e := testenv.Start(t, "")
	ctx := testenv.NewChromium(t, 90*time.Second)
	target := e.URL("app.localhost", "/hello?from=browser")
	err := chromedp.Do(ctx,
		chromedp.Navigate(target),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "alice@example.com"),
		chromedp.Submit(`#email`),
		chromedp.WaitVisible(`#code`),
	)
	if err != nil {
		t.Fatalf("up to the PIN form: %v", err)
	}
	pin := e.PINs.Wait(t, "alice@example.com")
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#code`, pin), chromedp.Submit(`#code`)); err != nil {
		t.Fatalf("PIN submission: %v", err)
	}
	var url, body string
	for ctx.Err() == nil {
		// The hand-off redirects may still be running; read the page until it is the app's.
		url, _ = chromedp.Run(ctx, chromedp.Location())
		if url == target {
			body, _ = chromedp.Run(ctx, chromedp.Text(`body`))
			if strings.Contains(body, "alice@example.com") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if url != target {
		t.Errorf("browser ended at %s, want %s", url, target)
	}
	if !strings.Contains(body, `"Gatehouse-Authenticated-User-Email":["alice@example.com"]`) {
		t.Errorf("upstream page: %s", body)
	}
}
