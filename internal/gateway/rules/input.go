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
	Domains            []string // http.request.domains: Domains(Host); when nil, derived from Host without allocating
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
	SupportAppIDs []int
	AppTypeIDs    []int
	AppStatuses   []string
	// AppConfidenceScores and AppGenAIScores are the apps' confidence scores in hundredths of a
	// point (3.45 is 345); the generative-AI score only for AI apps.
	AppConfidenceScores []int
	AppGenAIScores      []int
	Email               string // identity.email
	Name                string // identity.name
	GroupNames          []string
	GroupIDs            []string
	GroupEmails         []string
	SAMLAttributes      map[string][]string
	IdP                 string // identity.idp
	ServiceTokenID      string // identity.service_token_uuid
	DeviceID            string // device.id
	PosturePassed       []string
	PostureFailed       []string

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
	if dst == nil {
		dst = make([]string, 0, strings.Count(host, ".")+1)
	}
	for d, rest := host, true; rest; {
		dst = append(dst, d)
		d, rest = parentDomain(d)
	}
	return dst
}

// parentDomain returns the parent domain of d ("openai.com" for "chat.openai.com"), or false
// when d has none: a single label, or an IP literal. An IPv6 literal has a colon and an IPv4
// literal ends in a digit, which no top-level domain does. (netip.ParseAddr would allocate its
// error for names.)
func parentDomain(d string) (string, bool) {
	if d == "" || strings.IndexByte(d, ':') >= 0 || d[len(d)-1] >= '0' && d[len(d)-1] <= '9' {
		return "", false
	}
	i := strings.IndexByte(d, '.')
	if i < 0 || i == len(d)-1 {
		return "", false
	}
	return d[i+1:], true
}
