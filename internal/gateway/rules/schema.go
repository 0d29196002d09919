package rules

import (
	"net/netip"
	"strings"
)

// Type is the type of a field's value.
type Type uint8

// Field types.
const (
	TypeString Type = iota + 1
	TypeInt
	TypeIP
	TypeStringArray
	TypeIntArray
	// TypeStringArrayMap is a map from a name to strings, indexed as field["name"]
	// (identity.saml_attributes).
	TypeStringArrayMap
)

// String names the type as the language reference does.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "String"
	case TypeInt:
		return "Int"
	case TypeIP:
		return "IP"
	case TypeStringArray:
		return "Array<String>"
	case TypeIntArray:
		return "Array<Int>"
	case TypeStringArrayMap:
		return "Map<Array<String>>"
	}
	return "?"
}

// elem is the type of one element of an array (or of an indexed map).
func (t Type) elem() Type {
	switch t {
	case TypeStringArray, TypeStringArrayMap:
		return TypeString
	case TypeIntArray:
		return TypeInt
	}
	return t
}

func (t Type) isArray() bool { return t == TypeStringArray || t == TypeIntArray }

// Phase is the point of a connection at which a field's value is known, in Cloudflare's order of
// enforcement.
type Phase uint8

// Phases, in order.
const (
	// PhaseConnect: before TLS is decrypted (CONNECT authority, SNI, addresses, app from the host,
	// identity). Do Not Inspect (off) rules may use only these fields.
	PhaseConnect Phase = iota
	// PhaseRequest: the decrypted request line and headers (URL, method, granular controls).
	PhaseRequest
	// PhaseResponse: the response status line and headers.
	PhaseResponse
	// PhaseBody: after the body was scanned (DLP profiles, file types and sizes).
	PhaseBody
)

// String names the phase.
func (p Phase) String() string {
	switch p {
	case PhaseConnect:
		return "connect"
	case PhaseRequest:
		return "request"
	case PhaseResponse:
		return "response"
	case PhaseBody:
		return "body"
	}
	return "?"
}

// Field describes one field of the language.
type Field struct {
	Name  string
	Type  Type
	Phase Phase
	// Cloudflare reports whether Cloudflare Gateway has a field of this name; false marks a
	// Gatehouse extension.
	Cloudflare bool
	// Doc says what the field holds.
	Doc string

	// fold: values are compared case-insensitively (literals are lower-cased when compiled and
	// the input is lower-cased, without allocating when it already is).
	fold bool
	// scale multiplies integer literals (MiB for file sizes compared in bytes).
	scale int64

	str  func(*Input) string
	num  func(*Input) int64
	ip   func(*Input) netip.Addr
	strs func(*Input) []string
	nums func(*Input) []int
	// allowNums adds elements to nums for allow rules (support apps for app.ids).
	allowNums func(*Input) []int
	smap      func(*Input) map[string][]string
}

// Decrypt reports whether the field's value is known only once TLS is decrypted.
func (f *Field) Decrypt() bool { return f.Phase != PhaseConnect }

var fieldList = []*Field{
	// Connect phase.
	{Name: "http.request.host", Type: TypeString, Cloudflare: true, fold: true,
		Doc: "Destination host name (CONNECT authority or SNI before decryption, the Host header after), lower case, no trailing dot.",
		str: func(in *Input) string { return in.Host }},
	{Name: "http.conn.hostname", Type: TypeString, Cloudflare: true, fold: true,
		Doc: "Same value as http.request.host (Cloudflare's name for the connection's host name).",
		str: func(in *Input) string { return in.Host }},
	{Name: "http.request.domains", Type: TypeStringArray, Cloudflare: true, fold: true,
		Doc:  "The host and each of its parent domains (chat.openai.com, openai.com, com), so that any(http.request.domains[*] == \"openai.com\") matches subdomains.",
		strs: func(in *Input) []string { return in.Domains }},
	{Name: "http.request.uri.content_category", Type: TypeIntArray, Cloudflare: true,
		Doc:  "Content category ids of the destination, where known.",
		nums: func(in *Input) []int { return in.ContentCategories }},
	{Name: "http.request.uri.security_category", Type: TypeIntArray, Cloudflare: true,
		Doc:  "Security risk category ids of the destination, where known.",
		nums: func(in *Input) []int { return in.SecurityCategories }},
	{Name: "http.conn.src_ip", Type: TypeIP, Cloudflare: true,
		Doc: "Client address as the proxy sees it.",
		ip:  func(in *Input) netip.Addr { return in.SrcIP }},
	{Name: "http.conn.dst_ip", Type: TypeIP, Cloudflare: true,
		Doc: "Vetted destination address the proxy dials.",
		ip:  func(in *Input) netip.Addr { return in.DstIP }},
	{Name: "http.src_ip.geo.country", Type: TypeString, Cloudflare: true,
		Doc: "ISO 3166-1 alpha-2 country of the client address, upper case, where known.",
		str: func(in *Input) string { return in.SrcCountry }},
	{Name: "http.dst_ip.geo.country", Type: TypeString, Cloudflare: true,
		Doc: "ISO 3166-1 alpha-2 country of the destination address, upper case, where known.",
		str: func(in *Input) string { return in.DstCountry }},
	{Name: "http.conn.location", Type: TypeString,
		Doc: "Name of the gateway.locations entry the client address belongs to (Gatehouse extension; Cloudflare has locations only in DNS policies).",
		str: func(in *Input) string { return in.Location }},
	{Name: "proxy.endpoint", Type: TypeString, Cloudflare: true, fold: true,
		Doc: "Proxy host name the client connected to.",
		str: func(in *Input) string { return in.ProxyEndpoint }},
	{Name: "app.ids", Type: TypeIntArray, Cloudflare: true,
		Doc:       "Ids of the application-library apps whose host names match the host (for allow rules, also the apps it is a support host name of).",
		nums:      func(in *Input) []int { return in.AppIDs },
		allowNums: func(in *Input) []int { return in.SupportAppIDs }},
	{Name: "app.type.ids", Type: TypeIntArray, Cloudflare: true,
		Doc:  "Application type ids of those apps (25 = Artificial Intelligence).",
		nums: func(in *Input) []int { return in.AppTypeIDs }},
	{Name: "app.statuses", Type: TypeStringArray, Cloudflare: true,
		Doc:  "Review statuses of those apps: approved, unapproved, in review, unreviewed.",
		strs: func(in *Input) []string { return in.AppStatuses }},
	{Name: "app.confidence_scores", Type: TypeIntArray, scale: 100,
		Doc:  "Application confidence (posture) scores of those apps, out of 5; literals are whole points (any(app.confidence_scores[*] < 3)), compared exactly to the hundredth.",
		nums: func(in *Input) []int { return in.AppConfidenceScores }},
	{Name: "app.gen_ai_scores", Type: TypeIntArray, scale: 100,
		Doc:  "Generative-AI posture scores of those apps that are AI apps, out of 5; literals are whole points, compared exactly to the hundredth.",
		nums: func(in *Input) []int { return in.AppGenAIScores }},
	{Name: "identity.email", Type: TypeString, Cloudflare: true, fold: true,
		Doc: "User's e-mail address (empty without a user).",
		str: func(in *Input) string { return in.Email }},
	{Name: "identity.name", Type: TypeString, Cloudflare: true,
		Doc: "User's name.",
		str: func(in *Input) string { return in.Name }},
	{Name: "identity.groups.name", Type: TypeStringArray, Cloudflare: true,
		Doc:  "Names of the user's groups (also written identity.groups[*].name).",
		strs: func(in *Input) []string { return in.GroupNames }},
	{Name: "identity.groups.id", Type: TypeStringArray, Cloudflare: true,
		Doc:  "Ids of the user's groups (also written identity.groups[*].id).",
		strs: func(in *Input) []string { return in.GroupIDs }},
	{Name: "identity.groups.email", Type: TypeStringArray, Cloudflare: true, fold: true,
		Doc:  "E-mail addresses of the user's groups (also written identity.groups[*].email).",
		strs: func(in *Input) []string { return in.GroupEmails }},
	{Name: "identity.saml_attributes", Type: TypeStringArrayMap, Cloudflare: true,
		Doc:  "SAML attributes and OIDC claims of the user's login, by name: any(identity.saml_attributes[\"department\"] in {\"sales\"}).",
		smap: func(in *Input) map[string][]string { return in.SAMLAttributes }},
	{Name: "identity.idp", Type: TypeString,
		Doc: "Id of the identity provider the user logged in with (Gatehouse extension).",
		str: func(in *Input) string { return in.IdP }},
	{Name: "identity.service_token_uuid", Type: TypeString, Cloudflare: true,
		Doc: "Id of the service token that authenticated a machine (empty for users).",
		str: func(in *Input) string { return in.ServiceTokenID }},
	{Name: "device.id", Type: TypeString,
		Doc: "Id of the enrolled device whose proxy credentials were used (Gatehouse extension).",
		str: func(in *Input) string { return in.DeviceID }},
	{Name: "device_posture.checks.passed", Type: TypeStringArray, Cloudflare: true,
		Doc:  "Ids of the device posture checks the device passed (empty unless the caller evaluates posture).",
		strs: func(in *Input) []string { return in.PosturePassed }},
	{Name: "device_posture.checks.failed", Type: TypeStringArray, Cloudflare: true,
		Doc:  "Ids of the device posture checks the device failed.",
		strs: func(in *Input) []string { return in.PostureFailed }},

	// Request phase.
	{Name: "http.request.uri", Type: TypeString, Phase: PhaseRequest, Cloudflare: true,
		Doc: "Full URL (scheme, host, path and query); case-sensitive.",
		str: func(in *Input) string { return in.URL }},
	{Name: "http.request.uri.path", Type: TypeString, Phase: PhaseRequest, Cloudflare: true,
		Doc: "URL path; case-sensitive.",
		str: func(in *Input) string { return in.Path }},
	{Name: "http.request.uri.path_and_query", Type: TypeString, Phase: PhaseRequest, Cloudflare: true,
		Doc: "URL path and, when present, ? and the query.",
		str: func(in *Input) string { return in.PathAndQuery }},
	{Name: "http.request.uri.query", Type: TypeString, Phase: PhaseRequest, Cloudflare: true,
		Doc: "URL query without the ?.",
		str: func(in *Input) string { return in.Query }},
	{Name: "http.request.method", Type: TypeString, Phase: PhaseRequest, Cloudflare: true,
		Doc: "HTTP method, upper case as sent.",
		str: func(in *Input) string { return in.Method }},
	{Name: "app_control.controls", Type: TypeIntArray, Phase: PhaseRequest, Cloudflare: true,
		Doc:  "Granular control ids (upload, prompt, login…) of the request's endpoint within its app.",
		nums: func(in *Input) []int { return in.AppControls }},
	{Name: "http.upload.mime", Type: TypeString, Phase: PhaseRequest, Cloudflare: true, fold: true,
		Doc: "Media type of the request body from Content-Type, without parameters.",
		str: func(in *Input) string { return in.UploadMime }},

	// Response phase.
	{Name: "http.response.status_code", Type: TypeInt, Phase: PhaseResponse, Cloudflare: true,
		Doc: "Response status code.",
		num: func(in *Input) int64 { return int64(in.ResponseStatus) }},

	// Body phase.
	{Name: "http.body_phase", Type: TypeString, Phase: PhaseBody, Cloudflare: true,
		Doc: "Which body was scanned: upload or download.",
		str: func(in *Input) string { return in.BodyPhase }},
	{Name: "http.upload.file.types", Type: TypeStringArray, Phase: PhaseBody, Cloudflare: true,
		Doc:  "File types found in the request body by content (zip, pdf, docx, png, unscannable…).",
		strs: func(in *Input) []string { return in.UploadFileTypes }},
	{Name: "http.upload.file.size", Type: TypeInt, Phase: PhaseBody, Cloudflare: true, scale: 1 << 20,
		Doc: "Size of the uploaded body; literals are MiB (http.upload.file.size > 10 is more than 10 MiB), compared exactly in bytes.",
		num: func(in *Input) int64 { return in.UploadFileSize }},
	{Name: "dlp.profiles", Type: TypeStringArray, Phase: PhaseBody, Cloudflare: true,
		Doc:  "Ids of the DLP profiles that matched the scanned body.",
		strs: func(in *Input) []string { return in.DLPProfiles }},
}

var fields = func() map[string]*Field {
	m := make(map[string]*Field, len(fieldList))
	for i, f := range fieldList {
		if i >= 64 {
			panic("rules: more than 64 fields do not fit a NeedSet")
		}
		m[f.Name] = f
	}
	return m
}()

// fieldIndex is the position of f in fieldList (its bit in a NeedSet).
func fieldIndex(f *Field) int {
	for i, g := range fieldList {
		if g == f {
			return i
		}
	}
	return -1
}

// Fields returns the language's fields, in the order of the reference.
func Fields() []Field {
	out := make([]Field, len(fieldList))
	for i, f := range fieldList {
		out[i] = *f
	}
	return out
}

// suggest returns the known field name closest to name, or "" when none is close.
func suggest(name string) string {
	if len(name) > 100 { // no field is near; spare the quadratic distance
		return ""
	}
	best, bestD := "", len(name)/3+2
	for _, f := range fieldList {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best == "" {
		// A known field that the name extends or shortens (http.request.uri.host → http.request.host
		// is caught above; http.request → http.request.host here).
		for _, f := range fieldList {
			if strings.HasPrefix(f.Name, name+".") {
				return f.Name
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
