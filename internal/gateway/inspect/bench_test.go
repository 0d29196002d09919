package inspect

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRules are a realistic small policy: a Do Not Inspect rule, a block on unapproved AI
// uploads and a tenant-control allow.
var benchRules = []rules.Rule{e2eRules[0], e2eRules[1], e2eRules[4]}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkInspectedKeepAlive: requests on one kept-alive inspected HTTP/1.1 connection (CPU
// is the whole process: client, gateway and origin).
func BenchmarkInspectedKeepAlive(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	client := h.client(false)
	client.Transport.(*http.Transport).DisableKeepAlives = false
	url := "https://chatgpt.com:" + o.port + "/c/new"
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	start := cpuTime()
	b.ResetTimer()
	for range b.N {
		get()
	}
	reportCPU(b, start)
}

// BenchmarkInspectedNewConnection: one request per new inspected connection (the leaf is
// cached after the first).
func BenchmarkInspectedNewConnection(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	url := "https://chatgpt.com:" + o.port + "/c/new"
	start := cpuTime()
	for range b.N {
		client := h.client(false)
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}

// BenchmarkPeekThenSplice and BenchmarkBlindSplice: a new TLS connection through a tunnel the
// Do Not Inspect rule splices after reading the ClientHello, against one spliced without
// inspection (no CA: the decider splices before reading anything).
func BenchmarkPeekThenSplice(b *testing.B) { benchSplice(b, true) }
func BenchmarkBlindSplice(b *testing.B)    { benchSplice(b, false) }

func benchSplice(b *testing.B, peek bool) {
	h := newHarness(b, benchRules)
	if !peek {
		h.minter.SetAuthority(nil)
	}
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"claude.ai"}, now.Add(-time.Hour), now.Add(time.Hour)))
	url := "https://claude.ai:" + o.port + "/"
	start := cpuTime()
	for range b.N {
		client := h.client(false)
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: h.caPool}
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}

// BenchmarkDirectKeepAlive is the baseline of BenchmarkInspectedKeepAlive: the same client and
// origin without the gateway, so that the difference is the gateway's CPU.
func BenchmarkDirectKeepAlive(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.caPool, ServerName: "chatgpt.com"}}}
	url := "https://" + o.srv.Listener.Addr().String() + "/c/new"
	start := cpuTime()
	for range b.N {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}

// BenchmarkPromptStreamTTFB: the time to the first byte of a streamed chat completion through
// the inspecting gateway, without prompt protection and with it reading, classifying and
// capturing the prompt (a body rule on the AI prompt profiles and a capturing allow rule): the
// difference is what prompt protection adds before the answer starts to flow.
func BenchmarkPromptStreamTTFB(b *testing.B) {
	protect := []rules.Rule{
		{ID: "ai-security", Name: "No jailbreaks", Precedence: 1, Enabled: true, Action: rules.ActionBlock,
			Traffic: `any(app.type.ids[*] == 25) and any(dlp.profiles[*] in {"ai_prompt_ai_security" "ai_prompt_pii"})`},
		{ID: "capture", Name: "Capture", Precedence: 2, Enabled: true, Action: rules.ActionAllow,
			Traffic: `any(app.type.ids[*] == 25)`, RuleSettings: rules.RuleSettings{PayloadLog: &rules.PayloadLogSettings{Enabled: true}}},
	}
	prompt := `{"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"` + strings.Repeat("Summarise the quarterly planning notes for the platform team. ", 30) + `"}]}`
	for _, mode := range []string{"off", "protected"} {
		b.Run(mode, func(b *testing.B) {
			var h *harness
			if mode == "off" {
				h = newHarness(b, nil)
			} else {
				scanner, err := upload.New(upload.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c, err := ai.New(ai.Options{})
				if err != nil {
					b.Fatal(err)
				}
				pi, err := ai.NewPromptInspector(c, nil)
				if err != nil {
					b.Fatal(err)
				}
				h = newHarness(b, protect, func(o *gateway.Options) {
					o.Uploads, o.Prompts, o.PromptLog = scanner, pi, discardPromptLog{}
				})
			}
			now := time.Now()
			release := make(chan struct{})
			o := newStreamingOrigin(b, h.origins.leaf(b, []string{"api.openai.com"}, now.Add(-time.Hour), now.Add(time.Hour)), release)
			client := h.keepAliveClient()
			url := "https://api.openai.com:" + o.port + "/v1/chat/completions"
			var ttfb []time.Duration
			once := func() {
				req, _ := http.NewRequest("POST", url, strings.NewReader(prompt))
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var one [1]byte
				if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
					b.Fatal(err)
				}
				ttfb = append(ttfb, time.Since(t0))
				release <- struct{}{} // the rest of the stream
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			once()
			ttfb = ttfb[:0]
			b.ResetTimer()
			for range b.N {
				once()
			}
			slices.Sort(ttfb)
			b.ReportMetric(float64(ttfb[len(ttfb)/2].Microseconds()), "ttfb-p50-µs")
			b.ReportMetric(float64(ttfb[len(ttfb)*99/100].Microseconds()), "ttfb-p99-µs")
		})
	}
}

// discardPromptLog takes prompt log entries and keeps nothing (the writer's own cost is
// promptlog's benchmark).
type discardPromptLog struct{}

func (discardPromptLog) Log(context.Context, promptlog.Entry, promptlog.Payload) error { return nil }

// streamingOrigin answers chat completions with an event stream whose first chunk is flushed
// at once and whose rest waits for release.
type streamingOrigin struct {
	srv  *httptest.Server
	port string
}

func newStreamingOrigin(b *testing.B, cert tls.Certificate, release chan struct{}) *streamingOrigin {
	o := &streamingOrigin{}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Here"}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" is the summary."}}]}`+"\n\ndata: [DONE]\n\n")
	}))
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	o.srv.StartTLS()
	b.Cleanup(o.srv.Close)
	_, o.port, _ = net.SplitHostPort(o.srv.Listener.Addr().String())
	return o
}
