// Command login signs in to a running Gatehouse through the e-mail one-time PIN flow, like a
// browser would, and prints the value of the Gatehouse_Authorization cookie that Gatehouse sets
// on the application host. The benchmark replays that cookie with its load generator.
//
// Gatehouse must run without SMTP settings for its onetimepin provider and with a JSON log
// (log: {format: json}); the PIN is read from that log file. Every *.localhost name is resolved
// to the Gatehouse address, so no /etc/hosts entries are needed.
//
// Usage:
//
//	login -addr 127.0.0.1:8443 -app app.localhost -email bench@example.com -log gatehouse.log
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// pinLogMessage is the message of the log line that carries a PIN when no SMTP is configured.
const pinLogMessage = "one-time PIN (no SMTP configured: PIN written to the log)"

// cookieName is the app session cookie of the default wire profile.
const cookieName = "Gatehouse_Authorization"

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([A-Za-z_-]+)" value="([^"]*)">`)
)

func main() {
	addr := flag.String("addr", "", "Gatehouse public address, host:port (required)")
	appHost := flag.String("app", "app.localhost", "application host name (without port)")
	email := flag.String("email", "bench@example.com", "e-mail address to sign in with")
	logFile := flag.String("log", "", "Gatehouse log file (JSON lines) to read the PIN from (required)")
	timeout := flag.Duration("timeout", 30*time.Second, "overall time limit")
	flag.Parse()
	if *addr == "" || *logFile == "" {
		fmt.Fprintln(os.Stderr, "login: -addr and -log are required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	value, err := run(ctx, *addr, *appHost, *email, *logFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "login:", err)
		os.Exit(1)
	}
	fmt.Println(value)
}

// run performs the login and returns the app cookie's value.
func run(ctx context.Context, addr, appHost, email, logFile string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	client := newBrowser(addr)
	defer client.CloseIdleConnections()
	appURL := &url.URL{Scheme: "http", Host: net.JoinHostPort(appHost, port), Path: "/"}

	// 1. Navigate to the app: Gatehouse redirects to the auth domain's PIN e-mail form.
	resp, page, err := do(ctx, client, http.MethodGet, appURL.String(), nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="email"`) {
		return "", fmt.Errorf("expected the PIN e-mail form at %s, got %d:\n%s", resp.Request.URL, resp.StatusCode, snippet(page))
	}
	base := resp.Request.URL
	action, fields, err := parseForm(page)
	if err != nil {
		return "", err
	}

	// 2. Post the e-mail; remember where the log ends so only a PIN sent after this counts.
	offset, err := fileSize(logFile)
	if err != nil {
		return "", err
	}
	fields.Set("email", email)
	resp, page, err = do(ctx, client, http.MethodPost, resolve(base, action), fields)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) {
		return "", fmt.Errorf("expected the PIN code form, got %d:\n%s", resp.StatusCode, snippet(page))
	}
	base = resp.Request.URL
	action, fields, err = parseForm(page)
	if err != nil {
		return "", err
	}

	// 3. Read the PIN from the log and post it; the redirects end at the app, through Gatehouse.
	pin, err := waitPIN(ctx, logFile, offset, strings.ToLower(email))
	if err != nil {
		return "", err
	}
	fields.Set("code", pin)
	resp, page, err = do(ctx, client, http.MethodPost, resolve(base, action), fields)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Hostname() != appHost {
		return "", fmt.Errorf("expected the app's answer after the PIN, got %d from %s:\n%s", resp.StatusCode, resp.Request.URL, snippet(page))
	}

	// 4. The jar now holds the app cookie for the app host.
	for _, c := range client.Jar.Cookies(appURL) {
		if c.Name == cookieName && c.Value != "" {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("no %s cookie was set on %s", cookieName, appHost)
}

// newBrowser returns a client with a cookie jar whose transport connects every host name to addr
// (the *.localhost names all resolve to Gatehouse).
func newBrowser(addr string) *http.Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, host string) (net.Conn, error) {
			h, _, err := net.SplitHostPort(host)
			if err != nil {
				return nil, err
			}
			if h != "localhost" && !strings.HasSuffix(h, ".localhost") {
				return nil, fmt.Errorf("refusing to connect to %s: only *.localhost is served by Gatehouse", host)
			}
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
}

// do sends a browser-like request (a GET, or a POST of form) and returns the final response,
// after redirects, with its body read.
func do(ctx context.Context, c *http.Client, method, u string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: reading body: %w", method, u, err)
	}
	return resp, string(b), nil
}

// parseForm returns the action and hidden fields of the first form of an HTML page.
func parseForm(page string) (string, url.Values, error) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return "", nil, fmt.Errorf("no form in page:\n%s", snippet(page))
	}
	fields := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
		fields.Set(h[1], html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), fields, nil
}

// resolve resolves a form action against the page's URL.
func resolve(base *url.URL, action string) string {
	ref, err := url.Parse(action)
	if err != nil {
		return base.String()
	}
	return base.ResolveReference(ref).String()
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("log file: %w", err)
	}
	return fi.Size(), nil
}

// waitPIN polls the log file from offset until a PIN line for email appears, and returns the
// last such PIN.
func waitPIN(ctx context.Context, path string, offset int64, email string) (string, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pin, err := findPIN(path, offset, email)
		if err != nil {
			return "", err
		}
		if pin != "" {
			return pin, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no PIN for %s appeared in %s: %w", email, path, ctx.Err())
		case <-tick.C:
		}
	}
}

// findPIN scans the JSON log lines after offset for the PIN message addressed to email.
func findPIN(path string, offset int64, email string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("log file: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", fmt.Errorf("log file: %w", err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	pin := ""
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"pin"`)) {
			continue
		}
		var rec struct {
			Msg   string `json:"msg"`
			Email string `json:"email"`
			PIN   string `json:"pin"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if rec.Msg == pinLogMessage && strings.EqualFold(rec.Email, email) && rec.PIN != "" {
			pin = rec.PIN
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("log file: %w", err)
	}
	return pin, nil
}

// snippet shortens a page for an error message.
func snippet(page string) string {
	if len(page) > 2000 {
		return page[:2000] + "…"
	}
	return page
}
