package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/keys"
)

// TestKubernetesConfigValidates keeps the configuration shipped in deploy/kubernetes valid: its
// file paths are pointed at test files (a certificate, the master key) and the environment
// variables it names are set.
func TestKubernetesConfigValidates(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	body := cm.Data["gatehouse.yaml"]
	if body == "" {
		t.Fatal("no gatehouse.yaml in the ConfigMap")
	}
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	master := filepath.Join(dir, "master.key")
	if err := keys.GenerateMasterKeyFile(master); err != nil {
		t.Fatal(err)
	}
	body = strings.NewReplacer("/etc/gatehouse/tls/tls.crt", certFile, "/etc/gatehouse/tls/tls.key", keyFile,
		"/etc/gatehouse/secrets/master.key", master).Replace(body)
	t.Setenv("GATEHOUSE_DATABASE_URL", "postgres://u:p@127.0.0.1:5432/gatehouse")
	t.Setenv("SMTP_PASSWORD", "x")
	f, err := config.Parse([]byte(body), "configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckSecrets(); err != nil {
		t.Fatal(err)
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auth.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"auth.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}
