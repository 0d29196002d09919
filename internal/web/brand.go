package web

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Default colours of the page around the card (organization.login_design overrides them).
const (
	DefaultBackgroundColor = "#f4f5f7"
	DefaultTextColor       = "#1d2330"
	// MinContrast is the WCAG 2 AA contrast ratio for normal text.
	MinContrast = 4.5
	// MaxDataLogoBytes bounds a data: logo, which is inlined in every page.
	MaxDataLogoBytes = 64 << 10
)

// Brand is what the pages show of the organization: its name and login design.
type Brand struct {
	Name            string
	LogoURL         string
	HeaderText      string
	FooterText      string
	BackgroundColor string
	TextColor       string
}

// BrandOf returns the brand of org. Values the configuration checks would refuse (a colour that
// is not #rgb/#rrggbb, a logo that is not https: or data:image) are dropped, so a page never
// renders them even from a store written by an older version.
func BrandOf(org *store.Organization) Brand {
	b := Brand{Name: org.Name}
	if d := org.LoginDesign; d != nil {
		b.HeaderText, b.FooterText = d.HeaderText, d.FooterText
		if LogoURLProblem(d.LogoPath) == "" {
			b.LogoURL = d.LogoPath
		}
		if ColorProblem(d.BackgroundColor) == "" {
			b.BackgroundColor = d.BackgroundColor
		}
		if ColorProblem(d.TextColor) == "" {
			b.TextColor = d.TextColor
		}
	}
	return b
}

// colors returns the background and text colours in use, defaults filled in.
func (b Brand) colors() (bg, fg string) {
	bg, fg = b.BackgroundColor, b.TextColor
	if bg == "" {
		bg = DefaultBackgroundColor
	}
	if fg == "" {
		fg = DefaultTextColor
	}
	return bg, fg
}

// Background is the page background colour (a validated #rgb/#rrggbb value).
func (b Brand) Background() template.CSS {
	bg, _ := b.colors()
	return template.CSS(bg) // #nosec: ColorProblem admitted only hex digits
}

// Text is the header and footer text colour.
func (b Brand) Text() template.CSS {
	_, fg := b.colors()
	return template.CSS(fg)
}

// ColorProblem checks a login design colour: "#rgb" or "#rrggbb" (hex digits, any case). It
// returns "" for a valid colour or for "" (not set).
func ColorProblem(s string) string {
	if s == "" {
		return ""
	}
	if _, err := parseColor(s); err != nil {
		return fmt.Sprintf("must be a colour such as #1d2330 or #fff, not %q", s)
	}
	return ""
}

// parseColor returns the red, green and blue components (0..255) of #rgb or #rrggbb.
func parseColor(s string) ([3]float64, error) {
	var rgb [3]float64
	h, ok := strings.CutPrefix(s, "#")
	if !ok || (len(h) != 3 && len(h) != 6) {
		return rgb, fmt.Errorf("not #rgb or #rrggbb")
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	for i := range 3 {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return rgb, fmt.Errorf("not hexadecimal")
		}
		rgb[i] = float64(v)
	}
	return rgb, nil
}

// luminance is the WCAG 2 relative luminance of an sRGB colour.
func luminance(rgb [3]float64) float64 {
	var l [3]float64
	for i, c := range rgb {
		c /= 255
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// ContrastRatio is the WCAG 2 contrast ratio (1..21) of two #rgb/#rrggbb colours.
func ContrastRatio(a, b string) (float64, error) {
	ca, err := parseColor(a)
	if err != nil {
		return 0, fmt.Errorf("colour %q: %w", a, err)
	}
	cb, err := parseColor(b)
	if err != nil {
		return 0, fmt.Errorf("colour %q: %w", b, err)
	}
	la, lb := luminance(ca), luminance(cb)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05), nil
}

// DesignProblems checks a login design and returns its problems by field name (background_color,
// text_color, logo_path); nil when it is fine. The text colour must be readable on the
// background (contrast at least 4.5:1, a default standing in for a colour not set).
func DesignProblems(d *store.LoginDesign) map[string]string {
	if d == nil {
		return nil
	}
	out := map[string]string{}
	if p := ColorProblem(d.BackgroundColor); p != "" {
		out["background_color"] = p
	}
	if p := ColorProblem(d.TextColor); p != "" {
		out["text_color"] = p
	}
	if p := LogoURLProblem(d.LogoPath); p != "" {
		out["logo_path"] = p
	}
	if out["background_color"] == "" && out["text_color"] == "" && (d.BackgroundColor != "" || d.TextColor != "") {
		bg, fg := Brand{BackgroundColor: d.BackgroundColor, TextColor: d.TextColor}.colors()
		if r, err := ContrastRatio(bg, fg); err == nil && r < MinContrast {
			field := "text_color"
			if d.TextColor == "" {
				field = "background_color"
			}
			out[field] = fmt.Sprintf("text %s on background %s has a contrast of %.1f:1; at least %.1f:1 is needed to be readable (WCAG AA)", fg, bg, r, MinContrast)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// dataImageTypes are the media types a data: logo may have.
var dataImageTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/svg+xml": true, "image/avif": true,
}

// LogoURLProblem checks a logo address (organization.login_design.logo_path, an application's
// logo_url): an absolute https:// URL without credentials, or a data:image/...;base64 URL of
// at most MaxDataLogoBytes. The pages are served over HTTPS and their CSP allows images from
// https: and data: only, so http: logos are refused. It returns "" for a valid logo or for ""
// (not set).
func LogoURLProblem(s string) string {
	if s == "" {
		return ""
	}
	if rest, ok := cutPrefixFold(s, "data:"); ok {
		if len(s) > MaxDataLogoBytes {
			return fmt.Sprintf("is a data: URL of %d bytes; at most %d are allowed (host a larger logo on an https:// URL)", len(s), MaxDataLogoBytes)
		}
		meta, _, found := strings.Cut(rest, ",")
		mt, params, _ := strings.Cut(meta, ";")
		if !found || !dataImageTypes[strings.ToLower(mt)] {
			return "must be an https:// URL or a data:image/png, jpeg, gif, webp, avif or svg+xml URL"
		}
		if params != "" && !strings.EqualFold(params, "base64") {
			return "a data: logo must be data:image/<type>;base64,<data>"
		}
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL"
	case strings.EqualFold(u.Scheme, "http"):
		return "must use https:// (an http:// logo is refused: browsers block it on HTTPS pages and it can be altered in transit)"
	case !strings.EqualFold(u.Scheme, "https"):
		return "must be an https:// URL or a data:image/... URL"
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "must be an absolute https:// URL with a host"
	case u.User != nil:
		return "must not contain user information"
	}
	return ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// safeLogo returns s as a URL the templates may put in an img src, or "" when LogoURLProblem
// refuses it (html/template would otherwise rewrite a data: URL to #ZgotmplZ).
func safeLogo(s string) template.URL {
	if s == "" || LogoURLProblem(s) != "" {
		return ""
	}
	return template.URL(s) // #nosec: https: or data:image only, checked above
}
