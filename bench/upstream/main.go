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
	"time"
)

// body is the fixed response, 100 bytes with the trailing newline.
var body = []byte(`{"ok":true,"service":"gatehouse-bench-upstream","note":"fixed ~100-byte body for proxy benchmarks"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (host:port)")
	tlsDir := flag.String("tls-dir", "", "serve HTTPS; write the CA certificate to DIR/origin-ca.pem")
	names := flag.String("tls-names", "localhost,127.0.0.1", "comma-separated DNS names and IP addresses of the HTTPS certificate")
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
	log.Printf("upstream listening on %s with TLS (%d-byte body, CA in %s)", *addr, len(body), filepath.Join(*tlsDir, "origin-ca.pem"))
	log.Fatal(srv.ListenAndServeTLS("", ""))
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
