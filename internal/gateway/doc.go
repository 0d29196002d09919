// Package gateway owns the secure web gateway's forward proxy: the listener on listen.gateway
// that takes HTTP absolute-form requests ("GET http://host/path") and CONNECT tunnels from
// clients configured to use it (explicitly, or through the PAC file it serves at /proxy.pac).
//
// For every request it parses and canonicalises the destination once (ParseAuthority, with
// netguard.CanonicalHost: case, trailing dot, brackets, numeric IPv4 spellings), authenticates
// the client (Proxy-Authorization: Basic with a service token's client_id:client_secret, or
// device credentials through a DeviceVerifier; 407 otherwise) and names its location
// (gateway.locations), then resolves the destination once and vets every address (Egress:
// loopback, private, link-local, metadata, multicast, reserved and the process's own listeners
// are refused unless gateway.allowed_private_networks lists them), and connects only to the
// vetted address. Plain HTTP is forwarded with hop-by-hop headers removed; a CONNECT tunnel is
// spliced, or handed to TLS inspection when its TunnelDecider says so. Each request and tunnel
// gets one log line ("gateway request").
//
// It enforces the HTTP policies (Policy: gateway/rules compiled from gateway.rules, with the
// application library and review statuses of gateway/applib): on plain HTTP requests, on
// tunnels that are not decrypted (the rules decidable before decryption; a block is a 403 to
// the CONNECT), and on each request decrypted from an inspected tunnel (Tunnel.Handler), with
// the block page (HTML or JSON), redirects with the policy context, add_headers, response-phase
// rules and DLP on uploads (UploadScanner). Every decision names its rule in the log line.
// TLS inspection itself (ClientHello peek, leaf minting with gateway/ca, upstream TLS) is
// gateway/inspect, plugged in through TunnelDecider and Interceptor.
package gateway
