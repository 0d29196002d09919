package upload

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"strings"
)

// File types, Cloudflare's values for the upload and download file type selectors
// (http.upload.file.types). Unscannable marks content that is encrypted or password-protected:
// nothing inside it can be inspected.
const (
	Type7z          = "7z"
	TypeBz2         = "bz2"
	TypeGz          = "gz"
	TypeCab         = "cab"
	TypeChm         = "chm"
	TypeRar         = "rar"
	TypeXz          = "xz"
	TypeZip         = "zip"
	TypeDoc         = "doc"
	TypeDocx        = "docx"
	TypeDocm        = "docm"
	TypeXls         = "xls"
	TypeXlsx        = "xlsx"
	TypeXlsm        = "xlsm"
	TypePpt         = "ppt"
	TypePptx        = "pptx"
	TypePptm        = "pptm"
	TypePdf         = "pdf"
	TypePkg         = "pkg"
	TypeDll         = "dll"
	TypeElf         = "elf"
	TypeJar         = "jar"
	TypeClass       = "class"
	TypeMacho       = "macho"
	TypeMsi         = "msi"
	TypeMsix        = "msix"
	TypeExe         = "exe"
	TypePsd         = "psd"
	TypeBmp         = "bmp"
	TypeGif         = "gif"
	TypeIco         = "ico"
	TypeJpg         = "jpg"
	TypePng         = "png"
	TypeWebp        = "webp"
	TypeTorrent     = "torrent"
	TypeDmg         = "dmg"
	TypeUnscannable = "unscannable"
)

// Types lists every file type Detect can name.
var Types = []string{Type7z, TypeBz2, TypeGz, TypeCab, TypeChm, TypeRar, TypeXz, TypeZip, TypeDoc, TypeDocx,
	TypeDocm, TypeXls, TypeXlsx, TypeXlsm, TypePpt, TypePptx, TypePptm, TypePdf, TypePkg, TypeDll, TypeElf, TypeJar,
	TypeClass, TypeMacho, TypeMsi, TypeMsix, TypeExe, TypePsd, TypeBmp, TypeGif, TypeIco, TypeJpg, TypePng, TypeWebp,
	TypeTorrent, TypeDmg, TypeUnscannable}

// maxZipDirectory bounds the central directory entries Detect reads to tell zip-based formats
// apart.
const maxZipDirectory = 10000

// Detect names the file type of b by its content, and reports whether it is encrypted
// (password-protected zip entries, encrypted PDFs, encrypted Office documents): such content is
// also of type unscannable. It returns "" for content of no known type (text, JSON, unknown
// binary). It never reads outside b and allocates little; zip directories are read with
// archive/zip over b, bounded.
func Detect(b []byte) (typ string, encrypted bool) {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return detectZip(b)
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return detectOLE(b)
	case isPDF(b):
		return TypePdf, pdfEncrypted(b)
	case bytes.HasPrefix(b, []byte("\x1f\x8b\x08")):
		return TypeGz, false
	case len(b) >= 4 && bytes.HasPrefix(b, []byte("BZh")) && b[3] >= '1' && b[3] <= '9':
		return TypeBz2, false
	case bytes.HasPrefix(b, []byte("\xfd7zXZ\x00")):
		return TypeXz, false
	case bytes.HasPrefix(b, []byte("7z\xbc\xaf\x27\x1c")):
		return Type7z, false
	case bytes.HasPrefix(b, []byte("Rar!\x1a\x07")):
		return TypeRar, false
	case bytes.HasPrefix(b, []byte("MSCF\x00\x00\x00\x00")):
		return TypeCab, false
	case bytes.HasPrefix(b, []byte("ITSF")):
		return TypeChm, false
	case bytes.HasPrefix(b, []byte("MZ")):
		return detectPE(b), false
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return TypeElf, false
	case bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xce")), bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xcf")),
		bytes.HasPrefix(b, []byte("\xce\xfa\xed\xfe")), bytes.HasPrefix(b, []byte("\xcf\xfa\xed\xfe")),
		bytes.HasPrefix(b, []byte("\xca\xfe\xba\xbf")):
		return TypeMacho, false
	case bytes.HasPrefix(b, []byte("\xca\xfe\xba\xbe")):
		// Java class files and fat Mach-O binaries share the magic: a class file continues
		// with its version (minor, then major ≥ 45: at least 45 read as one number), a fat binary
		// with its architecture count (a handful).
		if len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) < 45 {
			return TypeMacho, false
		}
		return TypeClass, false
	case bytes.HasPrefix(b, []byte("xar!")):
		return TypePkg, false
	case bytes.HasPrefix(b, []byte("8BPS")):
		return TypePsd, false
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return TypeGif, false
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return TypePng, false
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return TypeJpg, false
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return TypeWebp, false
	case isBMP(b):
		return TypeBmp, false
	case isICO(b):
		return TypeIco, false
	case isTorrent(b):
		return TypeTorrent, false
	case isDMG(b):
		return TypeDmg, false
	}
	return "", false
}

func isPDF(b []byte) bool {
	// Readers accept the header anywhere in the first kilobyte.
	return bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-"))
}

// pdfEncrypted reports an /Encrypt entry (a trailer or cross-reference stream dictionary of an
// encrypted document names one).
func pdfEncrypted(b []byte) bool {
	return bytes.Contains(b, []byte("/Encrypt"))
}

func detectZip(b []byte) (string, bool) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(zr.File) > maxZipDirectory {
		return TypeZip, false
	}
	var (
		contentTypes, manifest, appx, class bool
		word, excel, power, macro           bool
		encrypted                           bool
	)
	for _, f := range zr.File {
		name := f.Name
		if f.Flags&0x1 != 0 {
			encrypted = true
		}
		switch {
		case name == "[Content_Types].xml":
			contentTypes = true
		case name == "META-INF/MANIFEST.MF":
			manifest = true
		case name == "AppxManifest.xml" || name == "AppxMetadata/AppxBundleManifest.xml":
			appx = true
		case strings.HasSuffix(name, ".class"):
			class = true
		case strings.HasPrefix(name, "word/"):
			word = true
			macro = macro || name == "word/vbaProject.bin"
		case strings.HasPrefix(name, "xl/"):
			excel = true
			macro = macro || name == "xl/vbaProject.bin"
		case strings.HasPrefix(name, "ppt/"):
			power = true
			macro = macro || name == "ppt/vbaProject.bin"
		}
	}
	pick := func(plain, macroType string) string {
		if macro {
			return macroType
		}
		return plain
	}
	switch {
	case appx:
		return TypeMsix, encrypted
	case contentTypes && word:
		return pick(TypeDocx, TypeDocm), encrypted
	case contentTypes && excel:
		return pick(TypeXlsx, TypeXlsm), encrypted
	case contentTypes && power:
		return pick(TypePptx, TypePptm), encrypted
	case manifest || class:
		return TypeJar, encrypted
	}
	return TypeZip, encrypted
}

// utf16 returns s as UTF-16LE, as compound files name their streams.
func utf16(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i], 0)
	}
	return out
}

var (
	oleWord          = utf16("WordDocument")
	oleWorkbook      = utf16("Workbook")
	oleBook          = utf16("Book\x00")
	olePowerPoint    = utf16("PowerPoint Document")
	oleEncrypted     = utf16("EncryptedPackage")
	oleEncryptedInfo = utf16("EncryptionInfo")
	// msiCLSID is the class id of Windows Installer databases ({000C1084-0000-0000-C000-000000000046}),
	// as a compound file's root entry stores it.
	msiCLSID = []byte{0x84, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
)

// detectOLE tells the formats stored as compound files apart by the root entry's class id and
// the stream names in the directory. An encrypted Office 2007+ document is a compound file
// holding EncryptedPackage and EncryptionInfo streams.
func detectOLE(b []byte) (string, bool) {
	if len(b) >= 0x34 {
		shift := binary.LittleEndian.Uint16(b[0x1e:0x20])
		dirSect := binary.LittleEndian.Uint32(b[0x30:0x34])
		if shift == 9 || shift == 12 {
			size := uint64(1) << shift
			off := (uint64(dirSect) + 1) * size
			if off+0x60 <= uint64(len(b)) && bytes.Equal(b[off+0x50:off+0x60], msiCLSID) {
				return TypeMsi, false
			}
		}
	}
	switch {
	case bytes.Contains(b, oleEncrypted) && bytes.Contains(b, oleEncryptedInfo):
		return TypeUnscannable, true
	case bytes.Contains(b, oleWord):
		return TypeDoc, false
	case bytes.Contains(b, oleWorkbook), bytes.Contains(b, oleBook):
		return TypeXls, false
	case bytes.Contains(b, olePowerPoint):
		return TypePpt, false
	}
	return "", false
}

// detectPE tells a DLL from an executable by the PE header's characteristics.
func detectPE(b []byte) string {
	if len(b) < 0x40 {
		return ""
	}
	pe := int(binary.LittleEndian.Uint32(b[0x3c:0x40]))
	if pe < 0x40 || pe > len(b)-24 || !bytes.Equal(b[pe:pe+4], []byte("PE\x00\x00")) {
		return ""
	}
	const imageFileDLL = 0x2000
	if binary.LittleEndian.Uint16(b[pe+22:pe+24])&imageFileDLL != 0 {
		return TypeDll
	}
	return TypeExe
}

func isBMP(b []byte) bool {
	if len(b) < 18 || !bytes.HasPrefix(b, []byte("BM")) {
		return false
	}
	switch binary.LittleEndian.Uint32(b[14:18]) { // DIB header size
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

func isICO(b []byte) bool {
	if len(b) < 22 || !bytes.HasPrefix(b, []byte{0, 0, 1, 0}) {
		return false
	}
	n := binary.LittleEndian.Uint16(b[4:6])
	// The first directory entry: reserved byte 0, a plausible colour-plane count.
	return n > 0 && n < 256 && b[9] == 0 && binary.LittleEndian.Uint16(b[10:12]) <= 1
}

// isTorrent recognises a bencoded metainfo dictionary: "d" and an announce or info key near the
// start.
func isTorrent(b []byte) bool {
	if len(b) < 11 || b[0] != 'd' {
		return false
	}
	head := b[:min(len(b), 64)]
	return bytes.HasPrefix(head[1:], []byte("8:announce")) || bytes.HasPrefix(head[1:], []byte("13:announce-list")) ||
		bytes.HasPrefix(head[1:], []byte("7:comment")) || bytes.HasPrefix(head[1:], []byte("10:created by")) ||
		bytes.HasPrefix(head[1:], []byte("4:info"))
}

// isDMG recognises an Apple disk image by the "koly" trailer in its last 512 bytes.
func isDMG(b []byte) bool {
	return len(b) >= 512 && bytes.HasPrefix(b[len(b)-512:], []byte("koly"))
}
