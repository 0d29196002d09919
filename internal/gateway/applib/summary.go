package applib

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes a plain-text listing of the catalogue: types, applications (id, name, type,
// vendor, hostnames, support hostnames, controls with their matchers, tenant controls, shipped
// evidence), tenant-control presets and the confidence rubric. It is the golden file's content
// and what a listing command can print.
func (c *Catalog) WriteSummary(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# application types\n")
	for _, t := range c.types {
		src := "gatehouse"
		if t.Cloudflare {
			src = "cloudflare"
		}
		fmt.Fprintf(&b, "type %d %q (%s id)\n", t.ID, t.Name, src)
	}
	b.WriteString("\n# applications\n")
	for _, a := range c.apps {
		cat := ""
		if a.AICategory != "" {
			cat = "/" + a.AICategory
		}
		fmt.Fprintf(&b, "app %d %q type=%d%s vendor=%q\n", a.ID, a.Name, a.TypeID, cat, a.Vendor)
		fmt.Fprintf(&b, "  hosts: %s\n", strings.Join(a.Hostnames, " "))
		if len(a.SupportHostnames) > 0 {
			fmt.Fprintf(&b, "  support: %s\n", strings.Join(a.SupportHostnames, " "))
		}
		if len(a.SharedHostnames) > 0 {
			fmt.Fprintf(&b, "  shared: %s\n", strings.Join(a.SharedHostnames, " "))
		}
		for _, ct := range a.Controls {
			fmt.Fprintf(&b, "  control %s id=%d\n", ct.Name, ct.ID)
			for _, m := range ct.Matchers {
				method, host := m.Method, m.Host
				if method == "" {
					method = "*"
				}
				if host == "" {
					host = "(app hosts)"
				}
				fmt.Fprintf(&b, "    %s %s %s\n", method, host, strings.Join(m.Paths, " "))
			}
		}
		if a.ControlsNote != "" {
			fmt.Fprintf(&b, "  controls note: %s\n", a.ControlsNote)
		}
		if len(a.TenantControls) > 0 {
			fmt.Fprintf(&b, "  tenant controls: %s\n", strings.Join(a.TenantControls, " "))
		}
		for _, e := range a.Evidence {
			fmt.Fprintf(&b, "  evidence %s=%s %s %s\n", e.Criterion, e.Value, e.Source, e.Date)
		}
	}
	b.WriteString("\n# tenant-control presets\n")
	for _, p := range c.TenantPresets() {
		fmt.Fprintf(&b, "preset %s %q hosts=%s\n", p.Key, p.Name, strings.Join(p.Hosts, ","))
		for _, h := range p.Headers {
			fmt.Fprintf(&b, "  %s: %s\n", h.Name, h.Value)
		}
	}
	b.WriteString("\n# confidence criteria\n")
	for _, cr := range c.Criteria() {
		fmt.Fprintf(&b, "criterion %s/%s %.1f %q levels=%s\n", cr.Score, cr.Key, cr.Points, cr.Name, strings.Join(cr.levelNames(), ","))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
