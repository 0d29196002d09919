// Command upstream is the benchmark's origin server: it answers every request with 200 and a
// fixed body of about 100 bytes, so that what the benchmark measures is the proxy in front of it.
// With -tls-dir it serves HTTPS instead, with a certificate from a CA of its own that it makes at
// start and writes to DIR/origin-ca.pem for the proxies (and clients) to trust.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// body is the fixed response, 100 bytes with the trailing newline.
var body = []byte(`{"ok":true,"service":"gatehouse-bench-upstream","note":"fixed ~100-byte body for proxy benchmarks"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (host:port)")
	tlsDir := flag.String("tls-dir", "", "serve HTTPS; write the CA certificate to DIR/origin-ca.pem")
	names := flag.String("tls-names", "localhost,127.0.0.1", "comma-separated DNS names and IP addresses of the HTTPS certificate")
	sniSuffix := flag.String("sni-suffix", "", "also serve every name ending in this suffix (e.g. .sni.bench.test), each with a certificate of its own")
	flag.Parse()
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if *tlsDir == "" {
		log.Printf("upstream listening on %s (%d-byte body)", *addr, len(body))
		log.Fatal(srv.ListenAndServe())
	}
	cert, err := makeCert(*tlsDir, strings.Split(*names, ","))
	if err != nil {
		log.Fatal(err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if *sniSuffix != "" {
		// A certificate of its own for every name under the suffix, so that a proxy that copies
		// the origin's certificate (Squid's mimicking) cannot reuse one leaf for all of them.
		m := &sniMinter{suffix: *sniSuffix, def: cert, certs: map[string]*tls.Certificate{}}
		srv.TLSConfig.Certificates = nil
		srv.TLSConfig.GetCertificate = m.get
	}
	log.Printf("upstream listening on %s with TLS (%d-byte body, CA in %s)", *addr, len(body), filepath.Join(*tlsDir, "origin-ca.pem"))
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// sniMinter issues a certificate per server name under suffix, signed by the origin's CA, and
// keeps it; other names get the default certificate.
type sniMinter struct {
	suffix string
	def    tls.Certificate
	mu     sync.Mutex
	certs  map[string]*tls.Certificate
}

func (m *sniMinter) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if !strings.HasSuffix(name, m.suffix) || len(name) > 253 {
		return &m.def, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.certs[name]; ok {
		return c, nil
	}
	if len(m.certs) >= 10000 {
		return nil, fmt.Errorf("too many names")
	}
	c, err := leafFor(name)
	if err != nil {
		return nil, err
	}
	m.certs[name] = c
	return c, nil
}

var (
	originCA    *x509.Certificate
	originCAKey *ecdsa.PrivateKey
)

// leafFor signs a certificate for one name with the origin's CA.
func leafFor(name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, originCA, &key.PublicKey, originCAKey)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// makeCert creates a CA and a server certificate for names signed by it, and writes the CA
// certificate (only) to dir/origin-ca.pem.
func makeCert(dir string, names []string) (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse bench origin CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, err
	}
	originCA, originCAKey = ca, caKey
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else if n != "" {
			leaf.DNSNames = append(leaf.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "origin-ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("write CA: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: nil}, nil
}
