package upload

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"testing"
)

func zipOf(t testing.TB, encrypted bool, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		fh := &zip.FileHeader{Name: n, Method: zip.Deflate}
		if encrypted {
			fh.Flags |= 0x1
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("content of " + n))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imageOf(t testing.TB, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ole builds a compound file header whose directory (at sector dirSect, 512-byte sectors)
// starts with a root entry of class id clsid, followed by stream names.
func ole(clsid []byte, names ...string) []byte {
	b := make([]byte, 512*3)
	copy(b, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	binary.LittleEndian.PutUint16(b[0x1e:], 9)
	binary.LittleEndian.PutUint32(b[0x30:], 0) // directory in sector 0, after the header
	root := b[512:]
	copy(root, utf16("Root Entry"))
	if clsid != nil {
		copy(root[0x50:], clsid)
	}
	off := 512 + 128
	for _, n := range names {
		copy(b[off:], utf16(n))
		off += 128
	}
	return b
}

func pe(dll bool) []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	var ch uint16 = 0x0102
	if dll {
		ch |= 0x2000
	}
	binary.LittleEndian.PutUint16(b[0x80+22:], ch)
	return b
}

func TestDetect(t *testing.T) {
	gz := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte("hello"))
		zw.Close()
		return buf.Bytes()
	}()
	bmp := make([]byte, 64)
	copy(bmp, "BM")
	binary.LittleEndian.PutUint32(bmp[14:], 40)
	ico := make([]byte, 64)
	copy(ico, []byte{0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0})
	dmg := append(bytes.Repeat([]byte{0x42}, 4096), append([]byte("koly"), make([]byte, 508)...)...)
	class := []byte("\xca\xfe\xba\xbe\x00\x00\x00\x34rest-of-class")
	fat := []byte("\xca\xfe\xba\xbe\x00\x00\x00\x02\x01\x00\x00\x07")
	cases := []struct {
		name      string
		body      []byte
		want      string
		encrypted bool
	}{
		{"zip", zipOf(t, false, "a.txt", "b/c.csv"), TypeZip, false},
		{"encrypted zip", zipOf(t, true, "secret.txt"), TypeZip, true},
		{"empty zip", zipOf(t, false), TypeZip, false},
		{"docx", zipOf(t, false, "[Content_Types].xml", "_rels/.rels", "word/document.xml"), TypeDocx, false},
		{"docm", zipOf(t, false, "[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), TypeDocm, false},
		{"xlsx", zipOf(t, false, "[Content_Types].xml", "xl/workbook.xml"), TypeXlsx, false},
		{"xlsm", zipOf(t, false, "[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin"), TypeXlsm, false},
		{"pptx", zipOf(t, false, "[Content_Types].xml", "ppt/presentation.xml"), TypePptx, false},
		{"pptm", zipOf(t, false, "[Content_Types].xml", "ppt/presentation.xml", "ppt/vbaProject.bin"), TypePptm, false},
		{"jar", zipOf(t, false, "META-INF/MANIFEST.MF", "com/example/Main.class"), TypeJar, false},
		{"jar without manifest", zipOf(t, false, "Main.class"), TypeJar, false},
		{"msix", zipOf(t, false, "AppxManifest.xml", "[Content_Types].xml", "app.exe"), TypeMsix, false},
		{"truncated zip", zipOf(t, false, "a.txt")[:20], TypeZip, false},
		{"doc", ole(nil, "WordDocument", "1Table"), TypeDoc, false},
		{"xls", ole(nil, "Workbook"), TypeXls, false},
		{"ppt", ole(nil, "PowerPoint Document"), TypePpt, false},
		{"msi", ole(msiCLSID, "\u4840\u3f3f"), TypeMsi, false},
		{"encrypted docx", ole(nil, "EncryptionInfo", "EncryptedPackage"), TypeUnscannable, true},
		{"pdf", []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"), TypePdf, false},
		{"pdf after junk", append(bytes.Repeat([]byte(" "), 100), "%PDF-1.4\n"...), TypePdf, false},
		{"encrypted pdf", []byte("%PDF-1.7\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF"), TypePdf, true},
		{"gz", gz, TypeGz, false},
		{"bz2", []byte("BZh91AY&SY\x00\x00"), TypeBz2, false},
		{"xz", []byte("\xfd7zXZ\x00\x00\x04"), TypeXz, false},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04"), Type7z, false},
		{"rar", []byte("Rar!\x1a\x07\x01\x00"), TypeRar, false},
		{"cab", []byte("MSCF\x00\x00\x00\x00\x10\x00"), TypeCab, false},
		{"chm", []byte("ITSF\x03\x00\x00\x00"), TypeChm, false},
		{"exe", pe(false), TypeExe, false},
		{"dll", pe(true), TypeDll, false},
		{"MZ without PE", append([]byte("MZ"), make([]byte, 100)...), "", false},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00"), TypeElf, false},
		{"macho 64", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), TypeMacho, false},
		{"macho fat", fat, TypeMacho, false},
		{"class", class, TypeClass, false},
		{"pkg", []byte("xar!\x00\x1c\x00\x01"), TypePkg, false},
		{"psd", []byte("8BPS\x00\x01"), TypePsd, false},
		{"bmp", bmp, TypeBmp, false},
		{"gif", imageOf(t, func(b *bytes.Buffer, i image.Image) error { return gif.Encode(b, i, nil) }), TypeGif, false},
		{"ico", ico, TypeIco, false},
		{"jpg", imageOf(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) }), TypeJpg, false},
		{"png", imageOf(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) }), TypePng, false},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), TypeWebp, false},
		{"torrent", []byte("d8:announce35:http://tracker.example.org/announce4:infod4:name3:abcee"), TypeTorrent, false},
		{"dmg", dmg, TypeDmg, false},
		{"text", []byte("My SSN is 123-45-6789 and my card is 4111 1111 1111 1111."), "", false},
		{"json", []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"BM hello"}]}`), "", false},
		{"dictionary word", []byte("dance and sing"), "", false},
		{"riff wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "", false},
		{"empty", nil, "", false},
	}
	for _, tc := range cases {
		got, enc := Detect(tc.body)
		if got != tc.want || enc != tc.encrypted {
			t.Errorf("%s: Detect = %q, encrypted %v; want %q, %v", tc.name, got, enc, tc.want, tc.encrypted)
		}
	}
}

// TestDetectMachineFiles detects real files of this machine's kinds where they exist: a
// gzip-compressed changelog and an ELF executable.
func TestDetectMachineFiles(t *testing.T) {
	for path, want := range map[string]string{"/bin/sh": TypeElf, "/usr/share/doc/bash/changelog.Debian.gz": TypeGz} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if got, _ := Detect(b); got != want {
			t.Errorf("%s: Detect = %q, want %q", path, got, want)
		}
	}
}

// TestDetectText: printable text (prompts, JSON, form bodies) is never taken for a file type.
func TestDetectText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"{}[]()-_=+/%&\n\t"
	for i := range 20000 {
		b := make([]byte, 1+r.IntN(600))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		if got, enc := Detect(b); got != "" || enc {
			t.Fatalf("text sample %d %q detected as %q (encrypted %v)", i, b, got, enc)
		}
	}
}

func FuzzDetect(f *testing.F) {
	f.Add(zipOf(f, false, "[Content_Types].xml", "word/document.xml"))
	f.Add(zipOf(f, true, "x"))
	f.Add(ole(msiCLSID))
	f.Add(ole(nil, "WordDocument"))
	f.Add(pe(true))
	f.Add([]byte("%PDF-1.7 /Encrypt"))
	f.Add([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x02"))
	f.Add([]byte("d8:announce"))
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, enc := Detect(b)
		typ2, enc2 := Detect(append([]byte(nil), b...))
		if typ != typ2 || enc != enc2 {
			t.Fatalf("Detect is not deterministic: %q/%v then %q/%v", typ, enc, typ2, enc2)
		}
		if typ == "" {
			return
		}
		for _, known := range Types {
			if typ == known {
				return
			}
		}
		t.Fatalf("Detect returned %q, which is not in Types", typ)
	})
}

func zipWriter(w *bytes.Buffer) *zip.Writer { return zip.NewWriter(w) }
