package dlp

import (
	"fmt"
	"strconv"
)

func pad(s string, n int) string { return fmt.Sprintf("%-*s", n, s) }
func f2(x float64) string        { return strconv.FormatFloat(x, 'f', 2, 64) }
func itoa(i int) string          { return strconv.Itoa(i) }
