package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/web"
)

// compile runs the checks of the packages that own destination and policy semantics, exactly as
// a snapshot is compiled, and reports their findings at the field they name.
func (c *checker) compile() {
	cfg := c.f.storeConfig()

	if _, err := route.Compile(cfg.Applications); err != nil {
		var es route.Errors
		if !errors.As(err, &es) {
			c.addf("applications", "%v", err)
		} else {
			for _, e := range es {
				c.objectError("application", e.AppID, e.Field, e.Msg)
			}
		}
	}
	if _, err := policy.Compile(cfg); err != nil {
		var es policy.Errors
		if !errors.As(err, &es) {
			c.addf("policies", "%v", err)
		} else {
			for _, e := range es {
				if e.Field == "id" {
					continue // ids are checked here (c.ids), with positions that do not depend on the id
				}
				c.objectError(e.Object, e.ID, e.Field, e.Msg)
			}
		}
	}

	c.design()

	// The auth domain is served by Gatehouse itself; an application cannot claim it.
	if ad := c.f.Organization.AuthDomain; ad != "" {
		for i, a := range c.f.Applications {
			for j, d := range a.Destinations {
				host, _, _ := strings.Cut(d.URI, "/")
				if strings.EqualFold(host, ad) {
					c.addf(fmt.Sprintf("applications[%d].destinations[%d]", i, j),
						"%s is the auth domain (organization.auth_domain), which Gatehouse serves itself", ad)
				}
			}
		}
	}
}

// design checks what the end-user pages show, by the rules of package web, which renders them:
// organization.login_design (colours, their contrast, the logo) and the applications' logo_url.
// A logo must be https: or data:image (the pages' CSP allows nothing else, and an http: image on
// an HTTPS page is blocked or can be altered in transit).
func (c *checker) design() {
	problems := web.DesignProblems(c.f.Organization.LoginDesign)
	for _, field := range []string{"background_color", "text_color", "logo_path"} {
		if msg, ok := problems[field]; ok {
			c.add("organization.login_design."+field, msg)
		}
	}
	for i, a := range c.f.Applications {
		// logo_url has the pages' rule alone: an https:// URL with a host and no user
		// information, or a data:image URL.
		if msg := web.LogoURLProblem(a.LogoURL); msg != "" {
			c.add(fmt.Sprintf("applications[%d].logo_url", i), msg)
		}
	}
}

// objectSections maps the object kinds of route and policy errors to their list in the file.
var objectSections = map[string]string{
	policy.ObjectApplication: "applications",
	policy.ObjectPolicy:      "policies",
	policy.ObjectGroup:       "groups",
	policy.ObjectList:        "lists",
	policy.ObjectMCPPortal:   "mcp_portals",
}

// objectError reports a problem in the object of kind object with the given id, at field inside
// it. The object is the first of its kind with that id; when there is none the problem is
// reported at the list with the id in the message.
func (c *checker) objectError(object, id, field, msg string) {
	section, ok := objectSections[object]
	if !ok {
		c.addf("", "%s %q: %s: %s", object, id, field, msg)
		return
	}
	i := c.f.indexOf(section, id)
	if i < 0 {
		if field != "" {
			msg = field + ": " + msg
		}
		c.addf(section, "%s %q: %s", object, id, msg)
		return
	}
	path := fmt.Sprintf("%s[%d]", section, i)
	if field != "" {
		path += "." + field
	}
	c.add(path, msg)
}

// indexOf returns the index of the first object with id in a section, or -1.
func (f *File) indexOf(section, id string) int {
	var n int
	var get func(int) string
	switch section {
	case "applications":
		n, get = len(f.Applications), func(i int) string { return f.Applications[i].ID }
	case "policies":
		n, get = len(f.Policies), func(i int) string { return f.Policies[i].ID }
	case "groups":
		n, get = len(f.Groups), func(i int) string { return f.Groups[i].ID }
	case "lists":
		n, get = len(f.Lists), func(i int) string { return f.Lists[i].ID }
	case "mcp_portals":
		n, get = len(f.MCPPortals), func(i int) string { return f.MCPPortals[i].ID }
	}
	for i := range n {
		if get(i) == id {
			return i
		}
	}
	return -1
}
