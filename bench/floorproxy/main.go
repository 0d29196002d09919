// Command floorproxy is a bare TLS-intercepting forward proxy for measuring floors: what
// decrypting and re-encrypting costs in Go on a machine before any proxy logic, so that the
// gateway benchmark's CPU per request can be read against it. It accepts CONNECT without
// authentication, presents one leaf for "localhost" signed by a CA it writes to -ca-out, and
// forwards to the CONNECT destination over TLS verified with -origin-ca. Modes:
//
//	copy    decrypt and re-encrypt the bytes both ways, no HTTP parsing
//	http    a sequential loop: http.ReadRequest, Request.Write upstream, http.ReadResponse, Response.Write
//	server  net/http's server per tunnel, each request forwarded on one pinned upstream connection
//	rp      the same with httputil.ReverseProxy in front of the pinned connection
//
// It is a measuring tool for 127.0.0.1 only, not a proxy: no authentication, no policy, no
// limits. Use with bench/proxyload (-proxy http://127.0.0.1:29090 -ca CA-OUT -pid PID).
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:29090", "listen address (keep it on 127.0.0.1)")
	caOut := flag.String("ca-out", "floorproxy-ca.pem", "file the interception CA's certificate is written to")
	originCA := flag.String("origin-ca", "", "PEM file of the CA that signed the origin's certificate (required)")
	mode := flag.String("mode", "copy", "copy, http, server or rp (see the package doc)")
	flag.Parse()
	switch *mode {
	case "copy", "http", "server", "rp":
	default:
		log.Fatalf("floorproxy: unknown -mode %q", *mode)
	}
	must := func(err error) {
		if err != nil {
			log.Fatalf("floorproxy: %v", err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "floor CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	must(err)
	ca, err := x509.ParseCertificate(caDER)
	must(err)
	must(os.WriteFile(*caOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644))
	lk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	ld, err := x509.CreateCertificate(rand.Reader, lt, ca, &lk.PublicKey, caKey)
	must(err)
	leaf := tls.Certificate{Certificate: [][]byte{ld}, PrivateKey: lk}
	pool := x509.NewCertPool()
	b, err := os.ReadFile(*originCA)
	must(err)
	if !pool.AppendCertsFromPEM(b) {
		log.Fatalf("floorproxy: no certificate in %s", *originCA)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil || req.Method != "CONNECT" {
				return
			}
			up, err := net.Dial("tcp", req.Host)
			if err != nil {
				return
			}
			defer up.Close()
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"http/1.1"}})
			host, _, _ := net.SplitHostPort(req.Host)
			uc := tls.Client(up, &tls.Config{ServerName: host, RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if *mode == "copy" {
				go io.Copy(uc, tc)
				io.Copy(tc, uc)
				return
			}
			if *mode == "server" || *mode == "rp" {
				pin := &pinned{r: bufio.NewReader(uc), w: bufio.NewWriter(uc)}
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					out := r.Clone(r.Context())
					out.URL.Scheme, out.URL.Host, out.RequestURI = "https", req.Host, ""
					resp, err := pin.RoundTrip(out)
					if err != nil {
						w.WriteHeader(502)
						return
					}
					defer resp.Body.Close()
					for k, v := range resp.Header {
						w.Header()[k] = v
					}
					w.WriteHeader(resp.StatusCode)
					io.Copy(w, resp.Body)
				})
				if *mode == "rp" {
					h = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
						pr.Out.URL.Scheme, pr.Out.URL.Host = "https", req.Host
					}, Transport: pin, BufferPool: bp}
				}
				done := make(chan struct{})
				srv := &http.Server{Handler: h}
				srv.Serve(&oneLn{c: tc, done: done})
				<-done
				return
			}
			cr := bufio.NewReader(tc)
			ur := bufio.NewReader(uc)
			uw := bufio.NewWriter(uc)
			cw := bufio.NewWriter(tc)
			for {
				r, err := http.ReadRequest(cr)
				if err != nil {
					return
				}
				r.URL.Scheme, r.URL.Host = "", ""
				if err := r.Write(uw); err != nil {
					return
				}
				uw.Flush()
				resp, err := http.ReadResponse(ur, r)
				if err != nil {
					return
				}
				if err := resp.Write(cw); err != nil {
					return
				}
				cw.Flush()
				resp.Body.Close()
			}
		}()
	}
}

type pinned struct {
	r *bufio.Reader
	w *bufio.Writer
}

func (p *pinned) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Write(p.w); err != nil {
		return nil, err
	}
	if err := p.w.Flush(); err != nil {
		return nil, err
	}
	return http.ReadResponse(p.r, r)
}

type oneLn struct {
	c    net.Conn
	once sync.Once
	done chan struct{}
	used bool
}

type closeConn struct {
	net.Conn
	done chan struct{}
	once sync.Once
}

func (c *closeConn) Close() error { c.once.Do(func() { close(c.done) }); return c.Conn.Close() }

func (l *oneLn) Accept() (net.Conn, error) {
	if !l.used {
		l.used = true
		return &closeConn{Conn: l.c, done: l.done}, nil
	}
	<-l.done
	return nil, net.ErrClosed
}
func (l *oneLn) Close() error   { return nil }
func (l *oneLn) Addr() net.Addr { return l.c.LocalAddr() }

type bufPool struct{ p sync.Pool }

func (b *bufPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}
func (b *bufPool) Put(x []byte) { b.p.Put(&x) }

var bp = &bufPool{}
