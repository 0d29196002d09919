package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateAndLoadMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := GenerateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	key, err := LoadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != MasterKeySize || bytes.Equal(key, make([]byte, MasterKeySize)) {
		t.Fatalf("key = %x", key)
	}
	before, _ := os.ReadFile(path)
	err = GenerateMasterKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateMasterKeyFile = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("existing master key file was modified")
	}

	// Permissions are not what makes a key valid: a read-only, world-readable mount loads.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if k2, err := LoadMasterKey(path); err != nil || !bytes.Equal(k2, key) {
		t.Fatalf("reload after chmod: %v", err)
	}
}

func TestLoadMasterKeyErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadMasterKey(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte(hex.EncodeToString(make([]byte, 16))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(short); err == nil || !strings.Contains(err.Error(), "32 hex digits (16 bytes), want exactly 32 bytes") || !strings.Contains(err.Error(), short) {
		t.Errorf("short key: %v", err)
	}
}

func TestParseMasterKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xef, 0x01}, 11)[:32]
	ok := map[string]string{
		"hex":              hex.EncodeToString(key),
		"hex upper":        strings.ToUpper(hex.EncodeToString(key)),
		"base64":           base64.StdEncoding.EncodeToString(key),
		"base64 raw":       base64.RawStdEncoding.EncodeToString(key),
		"base64url":        base64.URLEncoding.EncodeToString(key),
		"base64url raw":    base64.RawURLEncoding.EncodeToString(key),
		"whitespace":       "\n\t " + base64.StdEncoding.EncodeToString(key) + " \r\n",
		"trailing newline": hex.EncodeToString(key) + "\n",
	}
	for name, text := range ok {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMasterKey([]byte(text))
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("ParseMasterKey = %x, %v", got, err)
			}
		})
	}
	secret := "s3cr3t-passphrase-not-a-key"
	bad := map[string]struct{ text, want string }{
		"empty":            {"  \n", "empty"},
		"16 bytes hex":     {hex.EncodeToString(key[:16]), "32 hex digits (16 bytes), want exactly 32 bytes"},
		"33 bytes base64":  {base64.StdEncoding.EncodeToString(append(key, 1)), "33 bytes, want exactly 32"},
		"64 bytes base64":  {base64.StdEncoding.EncodeToString(append(key, key...)), "64 bytes, want exactly 32"},
		"passphrase":       {secret, "neither hex nor base64"},
		"split over lines": {base64.StdEncoding.EncodeToString(key)[:20] + "\n" + base64.StdEncoding.EncodeToString(key)[20:], "neither hex nor base64"},
		"63 hex digits":    {hex.EncodeToString(key)[1:], "63 hex digits"},
		"odd characters":   {"!!" + hex.EncodeToString(key)[2:], "neither hex nor base64"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMasterKey([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseMasterKey error = %v, want %q", err, tc.want)
			}
			if strings.TrimSpace(tc.text) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.text)) {
				t.Fatalf("error echoes the key material: %v", err)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	a, err := newSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newSealer(bytes.Repeat([]byte{2}, 32))
	sealed, err := seal(a, rand.Reader, "kid1", []byte("private"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := open(a, "kid1", sealed); err != nil || string(pt) != "private" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	for name, f := range map[string]func() error{
		"wrong master key": func() error { _, err := open(b, "kid1", sealed); return err },
		"other kid":        func() error { _, err := open(a, "kid2", sealed); return err },
		"flipped byte":     func() error { s := bytes.Clone(sealed); s[20] ^= 1; _, err := open(a, "kid1", s); return err },
		"unknown version":  func() error { s := bytes.Clone(sealed); s[0] = 2; _, err := open(a, "kid1", s); return err },
		"truncated":        func() error { _, err := open(a, "kid1", sealed[:10]); return err },
	} {
		if err := f(); !errors.Is(err, ErrWrongMasterKey) {
			t.Errorf("%s: %v, want ErrWrongMasterKey", name, err)
		}
	}
	// Nonces are random: sealing twice gives different bytes.
	again, _ := seal(a, rand.Reader, "kid1", []byte("private"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals are identical")
	}
}
