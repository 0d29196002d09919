// Package applib is the gateway's application library: an embedded, data-driven catalogue of
// SaaS and AI applications (hostnames, support hostnames, application types, vendors, granular
// controls such as "prompt" or "upload" expressed as request matchers), the review statuses an
// organisation assigns to them, application confidence scores computed from shipped evidence, and
// tenant-control header presets.
//
// The package is pure: it holds data and lookups, and knows nothing about the proxy, the
// configuration file or the store. The catalogue lives in data/*.yaml, is embedded with
// go:embed and validated when it is loaded (Default); a change to it shows up as a diff of
// testdata/catalogue.golden.
//
// Lookups are made for every proxied request, so Catalog.Lookup is allocation-free for
// already-normalised hosts: callers pass a lower-case host name without port (the gateway
// normalises hosts before any rule sees them); Lookup also tolerates one trailing dot and
// upper-case letters, the latter at the cost of one allocation.
//
// Identifiers: application and application-type ids are Cloudflare's where the design reference
// gives them (ChatGPT is 1199, type 25 is Artificial Intelligence, 16 is Do Not Inspect, control
// 1653 is ChatGPT's upload), so a rule exported from Cloudflare that names them reads the same
// here. Every other id is Gatehouse's own, from ranges that do not overlap the Cloudflare ids
// known to us: applications 90001–99999, application types 9001–9099, controls derived as
// application id × 100 + the control's ordinal (see ControlOrdinal). Ids are stable: an id is
// never reused for another application.
package applib
