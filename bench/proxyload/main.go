// Command proxyload is the gateway benchmark's load generator: HTTPS requests through an explicit
// forward proxy (CONNECT), either over kept-alive connections or with a new proxy connection,
// CONNECT and TLS handshake per request, and the proxy's CPU time over the measured run read from
// /proc (the process and its descendants). It prints one JSON object.
//
//	proxyload -proxy http://id:secret@127.0.0.1:3128 -url https://localhost:8443/ -ca ca.pem \
//	    -c 16 -d 5s -keepalive=true -pid 1234
//
// With -burst N it instead sends N requests at once, each on a new connection to a host of its
// own (-url https://n%d.sni.bench.test:8443/): an inspecting proxy meets N server names it has
// never seen together.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Mode        string   `json:"mode"`
	Concurrency int      `json:"concurrency"`
	Seconds     float64  `json:"seconds"`
	Requests    int64    `json:"requests"`
	Errors      int64    `json:"errors"`
	ErrorSample []string `json:"error_sample,omitempty"`
	RPS         float64  `json:"rps"`
	P50ms       float64  `json:"p50_ms"`
	P99ms       float64  `json:"p99_ms"`
	// TLS is the TLS version of the last successful response (the client's session with the
	// proxy when it inspects, with the origin when it tunnels).
	TLS string `json:"tls,omitempty"`
	// ProxyCPUSeconds is the user+system CPU time of -pid and its descendants during the run.
	ProxyCPUSeconds float64 `json:"proxy_cpu_seconds,omitempty"`
	// ProxyCPUMicrosPerRequest is ProxyCPUSeconds per successful request, in µs.
	ProxyCPUMicrosPerRequest float64 `json:"proxy_cpu_us_per_request,omitempty"`
	// LoadCPUMicrosPerRequest and OriginCPUMicrosPerRequest are what this load generator and
	// the -origin-pid process spent per successful request, in µs: on a machine they share with
	// the proxy, they bound the rate any proxy can reach there.
	LoadCPUMicrosPerRequest   float64 `json:"load_cpu_us_per_request,omitempty"`
	OriginCPUMicrosPerRequest float64 `json:"origin_cpu_us_per_request,omitempty"`
	// CeilingRPS is the rate a proxy costing no CPU would reach on this machine's cores with
	// this load generator and origin: cores / (load + origin CPU per request).
	CeilingRPS float64 `json:"ceiling_rps,omitempty"`
}

func main() {
	proxy := flag.String("proxy", "", "proxy URL, http://[user:password@]host:port (required)")
	target := flag.String("url", "", "https URL to request through the proxy (required)")
	caFile := flag.String("ca", "", "PEM file of the CAs the client trusts (the proxy's CA when it inspects, else the origin's)")
	conc := flag.Int("c", 16, "concurrent workers")
	dur := flag.Duration("d", 5*time.Second, "measured duration")
	maxReq := flag.Int64("n", 1_000_000, "stop after this many requests")
	keepAlive := flag.Bool("keepalive", true, "reuse connections (false: a new proxy connection, CONNECT and TLS handshake per request)")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	pid := flag.Int("pid", 0, "proxy process whose CPU time (with its descendants) is measured over the run")
	originPID := flag.Int("origin-pid", 0, "origin process whose CPU time is measured over the run (with the load generator's own, for the machine's ceiling)")
	clkTck := flag.Int("clk-tck", 100, "clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK)")
	burst := flag.Int("burst", 0, "instead of a timed run: N requests at once, each on a new connection to its own host (-url holds %d, replaced by 0..N-1)")
	flag.Parse()
	if *burst > 0 {
		if !strings.Contains(*target, "%d") || *burst > 10000 {
			fmt.Fprintf(os.Stderr, "proxyload: -burst needs a -url with a %s placeholder and at most 10000 requests\n", "%d")
			os.Exit(2)
		}
		*conc, *keepAlive, *maxReq = *burst, false, int64(*burst)
		*dur = *timeout + 5*time.Second // the run ends when every request has finished
	}
	if *proxy == "" || *target == "" || *conc < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "proxyload: -proxy and -url are required; -c and -d must be positive")
		os.Exit(2)
	}
	r, err := run(*proxy, *target, *caFile, *conc, *dur, *maxReq, *keepAlive, *timeout, *pid, *originPID, *clkTck, *burst > 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxyload:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func run(proxy, target, caFile string, conc int, dur time.Duration, maxReq int64, keepAlive bool, timeout time.Duration, pid, originPID, clkTck int, burst bool) (result, error) {
	pu, err := url.Parse(proxy)
	if err != nil {
		return result{}, fmt.Errorf("proxy URL: %w", err)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return result{}, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return result{}, errors.New("no certificate in the CA file")
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:               http.ProxyURL(pu),
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: timeout,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		IdleConnTimeout:     time.Minute,
		// HTTP/1.1 inside the tunnel for every proxy alike.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}

	var (
		reqs, errs atomic.Int64
		tlsVer     atomic.Uint32
		mu         sync.Mutex
		samples    []string
		lats       = make([][]time.Duration, conc)
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	cpu0, err := treeCPU(pid)
	if err != nil {
		return result{}, err
	}
	origin0, err := treeCPU(originPID)
	if err != nil {
		return result{}, err
	}
	self0, err := treeCPU(os.Getpid())
	if err != nil {
		return result{}, err
	}
	gate := make(chan struct{}) // a burst's requests start together
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			u := target
			if burst {
				u = fmt.Sprintf(target, w)
				<-gate
			}
			for ctx.Err() == nil && reqs.Load()+errs.Load() < maxReq {
				t0 := time.Now()
				v, err := get(ctx, client, u)
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the end of the run, not a failure
					}
					errs.Add(1)
					mu.Lock()
					if len(samples) < 5 {
						samples = append(samples, err.Error())
					}
					mu.Unlock()
					if burst {
						return // one attempt per name
					}
					continue
				}
				reqs.Add(1)
				tlsVer.Store(uint32(v))
				lats[w] = append(lats[w], time.Since(t0))
				if burst {
					return
				}
			}
		}(w)
	}
	if burst {
		start = time.Now()
		close(gate)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := treeCPU(pid)
	if err != nil {
		return result{}, err
	}
	origin1, err := treeCPU(originPID)
	if err != nil {
		return result{}, err
	}
	self1, err := treeCPU(os.Getpid())
	if err != nil {
		return result{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	mode := "keepalive"
	switch {
	case burst:
		mode = "burst"
	case !keepAlive:
		mode = "new-connection"
	}
	r := result{Mode: mode, Concurrency: conc, Seconds: elapsed.Seconds(), Requests: reqs.Load(), Errors: errs.Load(),
		ErrorSample: samples, RPS: float64(reqs.Load()) / elapsed.Seconds(), P50ms: pct(0.50), P99ms: pct(0.99)}
	if v := tlsVer.Load(); v != 0 {
		r.TLS = tls.VersionName(uint16(v))
	}
	if originPID > 0 && r.Requests > 0 {
		perReq := func(ticks int64) float64 { return float64(ticks) / float64(clkTck) * 1e6 / float64(r.Requests) }
		r.LoadCPUMicrosPerRequest = perReq(self1 - self0)
		r.OriginCPUMicrosPerRequest = perReq(origin1 - origin0)
		if both := r.LoadCPUMicrosPerRequest + r.OriginCPUMicrosPerRequest; both > 0 {
			r.CeilingRPS = float64(runtime.NumCPU()) * 1e6 / both
		}
	}
	if pid > 0 {
		r.ProxyCPUSeconds = float64(cpu1-cpu0) / float64(clkTck)
		if r.Requests > 0 {
			r.ProxyCPUMicrosPerRequest = r.ProxyCPUSeconds * 1e6 / float64(r.Requests)
		}
	}
	return r, nil
}

// get requests u and reads the whole body; anything but a 200 with a body is an error. It
// returns the TLS version of the response's connection.
func get(ctx context.Context, c *http.Client, u string) (uint16, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || n == 0 {
		return 0, fmt.Errorf("status %d, %d-byte body", resp.StatusCode, n)
	}
	if resp.TLS == nil {
		return 0, errors.New("response not over TLS")
	}
	return resp.TLS.Version, nil
}

// treeCPU returns the CPU ticks (user+system, with reaped children's) of pid and every live
// descendant; 0 without a pid.
func treeCPU(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	stats, err := allStats()
	if err != nil {
		return 0, err
	}
	if _, ok := stats[pid]; !ok {
		return 0, fmt.Errorf("process %d is not running", pid)
	}
	var total int64
	seen := map[int]bool{}
	var walk func(p int)
	walk = func(p int) {
		if seen[p] {
			return
		}
		seen[p] = true
		total += stats[p].ticks
		for q, s := range stats {
			if s.ppid == p {
				walk(q)
			}
		}
	}
	walk(pid)
	return total, nil
}

type procStat struct {
	ppid  int
	ticks int64
}

func allStats() (map[int]procStat, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	out := map[int]procStat{}
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		// The command name is in parentheses and may hold spaces: fields start after the last ')'.
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+1:])
		if len(fs) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, "/proc/"), "/stat"))
		ppid, _ := strconv.Atoi(fs[1])
		var t int64
		for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
			v, _ := strconv.ParseInt(fs[k], 10, 64)
			t += v
		}
		out[pid] = procStat{ppid: ppid, ticks: t}
	}
	return out, nil
}
