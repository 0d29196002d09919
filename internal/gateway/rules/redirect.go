package rules

import (
	"net/url"
	"strconv"
	"strings"
)

// PolicyContext is what the gateway knows about a blocked or redirected request; with
// include_context it travels to the target as Cloudflare's query parameters (cf_user_email,
// cf_site_uri, …) so that the page there can explain the decision.
type PolicyContext struct {
	UserEmail       string
	SiteURI         string // the requested URL
	Referer         string
	SourceIP        string
	DeviceID        string
	ApplicationName string
	CategoryIDs     []int
	RequestID       string
	ConnectionID    string
}

// values are the context's query parameters, without empty ones.
func (pc *PolicyContext) values(ruleID string) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("cf_rule_id", ruleID)
	set("cf_filter", "http")
	if pc != nil {
		set("cf_user_email", pc.UserEmail)
		set("cf_site_uri", pc.SiteURI)
		set("cf_referer", pc.Referer)
		set("cf_source_ip", pc.SourceIP)
		set("cf_device_id", pc.DeviceID)
		set("cf_application_name", pc.ApplicationName)
		set("cf_request_id", pc.RequestID)
		set("cf_connection_id", pc.ConnectionID)
		if len(pc.CategoryIDs) > 0 {
			ids := make([]string, len(pc.CategoryIDs))
			for i, id := range pc.CategoryIDs {
				ids[i] = strconv.Itoa(id)
			}
			v.Set("cf_request_categories", strings.Join(ids, ","))
		}
	}
	return v
}

// TargetURL returns where a redirect rule, or a block rule with a block_page target, sends the
// browser: the configured target_uri; for redirect with preserve_path_and_query, the original
// request's path appended to the target's path and its query appended to the target's query;
// with include_context, the policy context as query parameters. ok is false for rules without a
// target (allow, off, and block rules that show the gateway's own block page).
func (r *CompiledRule) TargetURL(orig *url.URL, pc *PolicyContext) (target string, ok bool) {
	var raw string
	var preserve, withContext bool
	switch {
	case r.Action == ActionRedirect && r.RuleSettings.Redirect != nil:
		s := r.RuleSettings.Redirect
		raw, preserve, withContext = s.TargetURI, s.PreservePathAndQuery, s.IncludeContext
	case r.Action == ActionBlock && r.RuleSettings.BlockPage != nil:
		raw, withContext = r.RuleSettings.BlockPage.TargetURI, r.RuleSettings.BlockPage.IncludeContext
	default:
		return "", false
	}
	u, err := url.Parse(raw) // validated by Compile
	if err != nil {
		return "", false
	}
	var query []string
	if u.RawQuery != "" {
		query = append(query, u.RawQuery)
	}
	if preserve && orig != nil {
		if p := orig.EscapedPath(); p != "" && p != "/" {
			joined := strings.TrimSuffix(u.EscapedPath(), "/") + p
			if path, err := url.PathUnescape(joined); err == nil {
				u.Path, u.RawPath = path, joined
			}
		}
		if orig.RawQuery != "" {
			query = append(query, orig.RawQuery)
		}
	}
	if withContext {
		query = append(query, pc.values(r.ID).Encode())
	}
	u.RawQuery = strings.Join(query, "&")
	return u.String(), true
}
