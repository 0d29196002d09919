package rules

import (
	"net/netip"
	"strings"
)

// Input is what the rules see of one connection or request. The caller fills what it knows at
// each phase and may reuse one Input for the phases of a request; evaluation only reads it.
// Fields a phase does not know are left zero: comparisons on an empty string, a zero address or
// an empty array are false (so not(…) of them is true).
type Input struct {
	// Connect phase.
	Host               string   // http.request.host: normalised host, lower case, no trailing dot, no brackets
	Domains            []string // http.request.domains: Domains(Host)
	ContentCategories  []int    // http.request.uri.content_category
	SecurityCategories []int    // http.request.uri.security_category
	SrcIP, DstIP       netip.Addr
	SrcCountry         string // http.src_ip.geo.country
	DstCountry         string // http.dst_ip.geo.country
	Location           string // http.conn.location
	ProxyEndpoint      string // proxy.endpoint
	AppIDs             []int
	// SupportAppIDs are the apps the host belongs to only through a support hostname (shared
	// dependencies such as a login host). app.ids includes them when allow rules are evaluated,
	// never for block, redirect or off rules: Cloudflare uses support hostnames in Allow
	// policies only, so that blocking an app does not break the apps that share its
	// dependencies.
	SupportAppIDs  []int
	AppTypeIDs     []int
	AppStatuses    []string
	Email          string // identity.email
	Name           string // identity.name
	GroupNames     []string
	GroupIDs       []string
	GroupEmails    []string
	SAMLAttributes map[string][]string
	IdP            string // identity.idp
	ServiceTokenID string // identity.service_token_uuid
	DeviceID       string // device.id
	PosturePassed  []string
	PostureFailed  []string

	// Request phase.
	URL          string // http.request.uri: the full URL
	Path         string
	PathAndQuery string
	Query        string
	Method       string
	AppControls  []int
	UploadMime   string

	// Response phase.
	ResponseStatus int

	// Body phase.
	BodyPhase       string // "upload" or "download"
	UploadFileTypes []string
	UploadFileSize  int64 // bytes
	DLPProfiles     []string
}

// Domains returns host followed by each of its parent domains: "chat.openai.com" gives
// ["chat.openai.com", "openai.com", "com"]. The strings share host's memory, so the one
// allocation is the slice. An IP address (or any host without a dot) gives just [host].
func Domains(host string) []string {
	return AppendDomains(nil, host)
}

// AppendDomains appends host and its parent domains to dst, for callers that reuse a buffer.
func AppendDomains(dst []string, host string) []string {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return dst
	}
	// An IPv6 literal has a colon and an IPv4 literal ends in a digit, which no top-level domain
	// does; neither has parent domains. (netip.ParseAddr would allocate its error for names.)
	if last := host[len(host)-1]; strings.IndexByte(host, ':') >= 0 || last >= '0' && last <= '9' {
		return append(dst, host)
	}
	if dst == nil {
		dst = make([]string, 0, strings.Count(host, ".")+1)
	}
	for {
		dst = append(dst, host)
		i := strings.IndexByte(host, '.')
		if i < 0 || i == len(host)-1 {
			return dst
		}
		host = host[i+1:]
	}
}
