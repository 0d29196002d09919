package config

import (
	"errors"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes, written as an integer (65536) or with a unit: B, KiB, MiB, GiB
// (powers of 1024) or KB, MB, GB (powers of 1000), e.g. 64KiB or 100MiB. Where a field allows it,
// -1 means "no limit".
type ByteSize int64

// Byte size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so that "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("expected a size such as 65536, 64KiB or 100MiB")
	}
	if n == -1 && mult == 1 {
		*b = -1
		return nil
	}
	if n < 0 {
		return errors.New("size must not be negative")
	}
	if n > (1<<62)/mult {
		return errors.New("size is too large")
	}
	*b = ByteSize(n * mult)
	return nil
}

// MarshalText writes the size with the largest binary unit that divides it exactly.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String formats the size like "64KiB", or as plain bytes.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		mult   ByteSize
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if b > 0 && b%u.mult == 0 {
			return strconv.FormatInt(int64(b/u.mult), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
