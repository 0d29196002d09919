package config

// head is a valid start of a file; problem cases append to it, so their lines start at 4.
const head = "version: 1\norganization: {auth_domain: auth.example.com}\nsecrets: {master_key_file: m.key}\n"

// problemCases are broken configurations and every problem each must report, as
// "line:col: path: msg". FuzzParse uses them as seeds.
var problemCases = []struct {
	name string
	in   string
	want []string
}{
	{"unknown top-level field", head + "applicatons: []\n", []string{
		"4:1: applicatons: unknown field; did you mean \"applications\"?",
	}},
	{"unknown nested field", head + "listen: {public: ':80', gatway: ':3128'}\n", []string{
		"4:25: listen.gatway: unknown field; did you mean \"gateway\"?",
	}},
	{"unknown rule selector", head + "policies: [{id: p, decision: allow, include: [{emails: {email: a@example.com}}]}]\n", []string{
		"4:48: policies[0].include[0].emails: unknown field; did you mean \"email\"?",
	}},
	{"unknown destination field", head + "applications: [{id: a, destinations: [{uri: a.example.com, typ: public}], upstream: 'http://a'}]\n", []string{
		"4:60: applications[0].destinations[0].typ: unknown field; did you mean \"type\"?",
	}},
	{"lists where a string or mapping belongs", head + "applications: [{id: a, destinations: [[a]], upstream: 'http://a'}]\nservice_tokens: [{id: t, client_id: c, client_secret: [x]}]\n", []string{
		"4:39: applications[0].destinations[0]: expected a string or a mapping, got a list",
		"5:55: service_tokens[0].client_secret: expected a string or a mapping with one of value, file or env, got a list",
	}},
	{"bad scim_config", head + "identity_providers: [{id: pin, name: PIN, type: onetimepin, scim_config: {enabled: true, seat_deprovision: true, identity_update_behavior: sometimes}}]\n", []string{
		"4:108: identity_providers[0].scim_config.seat_deprovision: requires user_deprovision",
		"4:140: identity_providers[0].scim_config.identity_update_behavior: unknown value \"sometimes\"; use automatic, reauth or no_action",
	}},
	{"gateway hosts", head + "gateway:\n  allowed_private_networks: [10.0.0.0/8]\n  hosts:\n    chatgpt.com: 127.0.0.1\n    ChatGPT.com.: 1.2.3.4\n    'bad host!': 1.2.3.4\n    '10.1.2.3': 1.2.3.4\n    api.example.com: not-an-ip\n    wiki.example.com: 10.0.0.5\n    meta.example.com: 169.254.169.254\n", []string{
		"7:18: gateway.hosts.chatgpt.com: 127.0.0.1 is a loopback address: add it to gateway.allowed_private_networks, or the gateway refuses it",
		"8:5: gateway.hosts.ChatGPT.com.: is the same host as \"chatgpt.com\"",
		"9:5: gateway.hosts.bad host!: is not a valid host name",
		"10:5: gateway.hosts.10.1.2.3: must be a host name, not an IP address",
		"11:22: gateway.hosts.api.example.com: \"not-an-ip\" is not an IP address",
		"13:23: gateway.hosts.meta.example.com: 169.254.169.254 is a metadata address: add it to gateway.allowed_private_networks, or the gateway refuses it",
	}},
	{"gateway rules and reviews", head + "gateway:\n  default_action: deny\n  lists: {ai: [chatgpt.com]}\n  rules:\n    - {id: r1, name: a, enabled: true, action: block, traffic: 'http.request.hots == \"x\"'}\n    - {id: r1, name: b, enabled: true, action: redirect, traffic: 'any(http.request.domains[*] in $nope)'}\n    - id: r3\n      action: off\n      traffic: |\n        http.request.host == \"a.com\"\n        and http.request.uri.path == \"/x\"\n  app_reviews: {ChatGTP: approved, '1199': maybe}\n", []string{
		"5:19: gateway.default_action: must be allow or block, not \"deny\"",
		"8:65: gateway.rules[0].traffic: rule \"r1\": unknown field http.request.hots; did you mean http.request.host? (at 1:1 of the expression)",
		"9:7: gateway.rules[1].rule_settings.redirect.target_uri: rule \"r1\": a redirect rule needs a target_uri",
		"9:12: gateway.rules[1].id: rule \"r1\": duplicate id \"r1\" (also rules[0])",
		"9:99: gateway.rules[1].traffic: rule \"r1\": unknown list $nope (at 1:32 of the expression)",
		"12:16: gateway.rules[2].traffic: rule \"r3\": a Do Not Inspect (off) rule is decided before decryption and cannot use http.request.uri.path",
		"15:17: gateway.app_reviews.ChatGTP: unknown application \"ChatGTP\"; did you mean \"ChatGPT\"?",
		"15:36: gateway.app_reviews.1199: unknown review status \"maybe\" (want approved, unapproved, in review or unreviewed)",
	}},
	{"gateway locations and limits", head + "gateway:\n  allowed_private_networks: [10.1.2.3/8]\n  locations:\n    - {name: hq, networks: [10.0.0.0/16]}\n    - {name: hq, networks: [10.0.0.0/16]}\n    - {name: 'a b', networks: []}\n  limits: {max_request_header_bytes: 1KiB, connect_timeout: 0s, idle_timeout: 48h, tunnel_idle_timeout: 1s, max_tunnels: -1}\n", []string{
		"5:30: gateway.allowed_private_networks[0]: 10.1.2.3/8 has bits set after the prefix length; did you mean 10.0.0.0/8?",
		"8:14: gateway.locations[1].name: duplicate name \"hq\" (also used by gateway.locations[0])",
		"8:29: gateway.locations[1].networks[0]: 10.0.0.0/16 is also a network of gateway.locations[0]; a client address must belong to one location",
		"9:14: gateway.locations[2].name: may only contain letters, digits, '-', '_' and '.'",
		"9:31: gateway.locations[2].networks: a location needs at least one network",
		"10:38: gateway.limits.max_request_header_bytes: must be between 4KiB and 16MiB",
		"10:61: gateway.limits.connect_timeout: must be between 1s and 5m",
		"10:79: gateway.limits.idle_timeout: must be between 1s and 24h",
		"10:105: gateway.limits.tunnel_idle_timeout: must be between 10s and 24h",
		"10:122: gateway.limits.max_tunnels: must be between 1 and 1000000",
	}},
	{"gateway usage", head + "gateway:\n  usage: {retention: 1h, flush_interval: 2h}\n", []string{
		"5:22: gateway.usage.retention: must be between 24h and 87600h",
		"5:42: gateway.usage.flush_interval: must be between 1s and 1h",
	}},
	{"gateway prompt logs", head + "gateway:\n  prompt_logs: {retention: 30m}\n", []string{
		"5:28: gateway.prompt_logs.retention: must be between 1h and 87600h",
	}},
	{"duplicate field", head + "log: {level: info, level: debug}\n", []string{
		"4:20: log.level: duplicate field (first set on line 4)",
	}},
	{"wrong kinds", head + "listen: [a]\ntrusted_proxies: 10.0.0.0/8\nlimits: {max_request_header_bytes: {a: 1}}\napplications: [{id: a, auto_redirect_to_identity: maybe}]\n", []string{
		"4:9: listen: expected a mapping, got a list",
		"5:18: trusted_proxies: expected a list, got a string",
		"6:36: limits.max_request_header_bytes: expected a size such as 65536 or 64KiB, got a mapping",
		"7:16: applications[0].destinations: a self_hosted application needs at least one destination",
		"7:16: applications[0].upstream: is required for a self_hosted application",
		"7:51: applications[0].auto_redirect_to_identity: expected true or false, got a string",
	}},
	{"bad scalars", "version: one\norganization:\n  auth_domain: auth.example.com\n  session_duration: 1 day\n  deny_unmatched_requests: 2\nservice_tokens: [{id: t, client_id: c, client_secret_sha256: " + sha0 + ", expires_at: tomorrow, duration: 5}]\nsecrets: {master_key_file: m.key}\n", []string{
		"1:10: version: expected an integer, got a string",
		"4:21: organization.session_duration: invalid duration \"1 day\" (use Go duration syntax such as 30m, 24h)",
		"5:28: organization.deny_unmatched_requests: expected true or false, got a number",
		"6:140: service_tokens[0].expires_at: expected a timestamp such as 2030-01-31T00:00:00Z",
		"6:160: service_tokens[0].duration: invalid duration \"5\" (use Go duration syntax such as 30m, 24h)",
	}},
	{"auth domain with scheme", "version: 1\norganization: {auth_domain: 'https://auth.example.com'}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:29: organization.auth_domain: must be a bare host name such as auth.example.com, without a scheme",
	}},
	{"auth domain with port", "version: 1\norganization: {auth_domain: 'auth.example.com:443'}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:29: organization.auth_domain: must be a bare host name such as auth.example.com, without a port",
	}},
	{"auth domain with path", "version: 1\norganization: {auth_domain: 'auth.example.com/login'}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:29: organization.auth_domain: must be a bare host name such as auth.example.com, without a path",
	}},
	{"auth domain invalid", "version: 1\norganization: {auth_domain: 'auth_example.com'}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:29: organization.auth_domain: is not a valid host name (letters, digits and '-' in dot-separated labels)",
	}},
	{"auth domain missing", "version: 1\norganization: {name: Example}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:15: organization.auth_domain: is required",
	}},
	{"version missing", "organization: {auth_domain: auth.example.com}\nsecrets: {master_key_file: m.key}\n", []string{
		"1:1: version: is required; write version: 1",
	}},
	{"version unsupported", "version: 2\norganization: {auth_domain: auth.example.com}\nsomething_new: true\n", []string{
		"1:10: version: unsupported version 2; this release reads version 1",
	}},
	{"session bounds", "version: 1\norganization: {auth_domain: auth.example.com, session_duration: 10m}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:65: organization.session_duration: must be between 15m and 720h",
	}},
	{"session written zero", "version: 1\norganization: {auth_domain: auth.example.com, session_duration: 0s}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:65: organization.session_duration: must be between 15m and 720h",
	}},
	{"wire profile", "version: 1\norganization: {auth_domain: auth.example.com, wire: cf}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:53: organization.wire: unknown wire profile \"cf\"; want gatehouse or cloudflare",
	}},
	{"key rotation too short", "version: 1\norganization: {auth_domain: auth.example.com, key_rotation_interval: 30m}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:70: organization.key_rotation_interval: must be at least 1h",
	}},
	{"key overlap too short", "version: 1\norganization: {auth_domain: auth.example.com, session_duration: 200h}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:15: organization.key_overlap: must be at least the longest session duration, 200h (organization.session_duration): a rotated-out key must verify every token it signed until it expires",
	}},
	{"key overlap shorter than an app session", "version: 1\norganization: {auth_domain: auth.example.com}\napplications: [{id: a, destinations: [a.example.com], upstream: 'http://a', session_duration: 720h}]\nsecrets: {master_key_file: m.key}\n", []string{
		"2:15: organization.key_overlap: must be at least the longest session duration, 720h (applications[0].session_duration): a rotated-out key must verify every token it signed until it expires",
	}},
	{"key overlap longer than rotation", "version: 1\norganization: {auth_domain: auth.example.com, key_rotation_interval: 100h}\nsecrets: {master_key_file: m.key}\n", []string{
		"2:15: organization.key_overlap: must not be longer than key_rotation_interval (100h): only the current and the previous key are published",
	}},
	{"not a mapping", "- version: 1\n", []string{
		"1:1: expected a mapping, got a list",
	}},
	{"two documents", head + "---\n" + head, []string{
		"4:1: only one YAML document is allowed",
	}},
	// Syntax errors: line and column of the offending character (or of the quote or bracket
	// that is never closed), whatever line yaml.v3 itself reports.
	{"syntax error", head + "applications: [\n", []string{
		"4:15: invalid YAML: did not find expected node content",
	}},
	{"tab as indentation", head + "listen:\n\tpublic: ':80'\n", []string{
		"5:1: invalid YAML: found character that cannot start any token",
	}},
	{"unclosed quote at the end", head + "listen:\n  public: ':80\n", []string{
		"5:11: invalid YAML: found unexpected end of stream",
	}},
	// The quote opened on line 5 is closed by the first quote of line 6: the text after it is
	// where the input stops making sense.
	{"unclosed quote closed by the next line's", head + "listen:\n  public: ':80\n  internal: '127.0.0.1:9090'\n", []string{
		"6:14: invalid YAML: did not find expected key",
	}},
	{"bad indentation", head + "listen:\n  public: ':80'\n internal: '127.0.0.1:9090'\n", []string{
		"6:2: invalid YAML: did not find expected key",
	}},
	{"mapping values not allowed", head + "storage: driver: sqlite\n", []string{
		"4:16: invalid YAML: mapping values are not allowed in this context",
	}},
	{"duplicate top-level key", head + "log: {level: info}\nlog: {level: debug}\n", []string{
		"5:1: log: duplicate field (first set on line 4)",
	}},
	{"recursive alias", head + "applications: &a [*a]\n", []string{
		"4:15: applications[0]: expected a mapping, got a list",
	}},
	{"listen addresses", head + "listen: {public: '443', internal: ':99999', gateway: 'a b:1'}\n", []string{
		"4:18: listen.public: must be host:port or :port, e.g. :443 or 127.0.0.1:9090",
		"4:35: listen.internal: port must be a number between 0 and 65535",
		"4:54: listen.gateway: host must be an IP address or a host name",
	}},
	{"listen conflict", head + "listen: {public: ':8080', internal: '127.0.0.1:8080'}\n", []string{
		"4:37: listen.internal: conflicts with listen.public (:8080)",
	}},
	{"tls half", head + "tls: {key_file: /k.pem}\n", []string{
		"4:6: tls.cert_file: is required when key_file is set",
	}},
	{"tls missing files", head + "tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}\n", []string{
		"4:18: tls.cert_file: cannot read /nonexistent/c.pem: no such file or directory",
		"4:48: tls.key_file: cannot read /nonexistent/k.pem: no such file or directory",
	}},
	{"storage", head + "storage: {driver: mysql}\n", []string{
		"4:19: storage.driver: unknown driver \"mysql\"; want sqlite or postgres",
	}},
	{"postgres needs dsn", head + "storage: {driver: postgres}\n", []string{
		"4:10: storage.dsn: is required for postgres",
	}},
	{"query timeout out of range", head + "storage: {query_timeout: 10ms}\n", []string{
		"4:26: storage.query_timeout: must be between 100ms and 1m",
	}},
	{"query timeout zero", head + "storage: {query_timeout: 0s}\n", []string{
		"4:26: storage.query_timeout: must be between 100ms and 1m",
	}},
	{"geoip missing", head + "geoip: {mmdb_file: /nonexistent/c.mmdb}\n", []string{
		"4:20: geoip.mmdb_file: cannot read /nonexistent/c.mmdb: no such file or directory",
	}},
	{"trusted proxies", head + "trusted_proxies: [10.0.0.1/8, 'fe80::1%eth0', nope, 192.168.0.0/16, 10.0.0.1]\n", []string{
		"4:19: trusted_proxies[0]: 10.0.0.1/8 has bits set after the prefix length; did you mean 10.0.0.0/8?",
		"4:31: trusted_proxies[1]: expected a CIDR such as 10.0.0.0/8 or an IP address",
		"4:47: trusted_proxies[2]: expected a CIDR such as 10.0.0.0/8 or an IP address",
	}},
	{"ids", head + "identity_providers:\n  - {type: onetimepin}\n  - {id: ../etc, type: onetimepin}\n  - {id: 'a b', type: onetimepin}\npolicies:\n  - {id: p, decision: allow, include: [everyone: {}]}\n  - {id: p, decision: allow, include: [everyone: {}]}\n", []string{
		"5:5: identity_providers[0].id: is required",
		"6:10: identity_providers[1].id: must start with a letter or digit",
		"7:10: identity_providers[2].id: may only contain letters, digits, '-', '_' and '.'",
		"10:10: policies[1].id: duplicate id \"p\" (also used by policies[0])",
	}},
	{"idp types", head + "identity_providers:\n  - {id: a, type: oidc}\n  - {id: b, type: okta}\n  - {id: c}\n", []string{
		"5:5: identity_providers[0].config.client_id: is required",
		"5:5: identity_providers[0].config.client_secret: is required",
		"5:5: identity_providers[0].config.issuer: is required (the exact issuer identifier of the provider)",
		"6:19: identity_providers[1].type: unknown type \"okta\"; this release supports github, google, oidc, onetimepin, saml",
		"7:5: identity_providers[2].type: is required",
	}},
	{"onetimepin config", head + "identity_providers:\n  - id: pin\n    type: onetimepin\n    config:\n      smtp:\n        host: smtp.example.com:587\n        port: 0\n        from: nobody\n        tls: ssl\n        pasword: x\n", []string{
		"9:15: identity_providers[0].config.smtp.host: must be a host name or IP address without scheme or port",
		"10:15: identity_providers[0].config.smtp.port: must be a port number between 1 and 65535",
		"11:15: identity_providers[0].config.smtp.from: is not a valid e-mail address",
		"12:14: identity_providers[0].config.smtp.tls: must be starttls, tls or none, not \"ssl\"",
		"13:18: identity_providers[0].config.smtp.pasword: unknown field \"pasword\" (smtp accepts: host, port, from, tls, username, password)",
	}},
	{"app types", head + "applications:\n  - {id: a, type: saas}\n  - {id: b, type: ssh}\n  - {id: c, type: bookmark, upstream: 'http://x'}\n  - {id: d, type: app_launcher}\n  - {id: e, type: app_launcher}\n", []string{
		"5:5: applications[0].saas_app: is required for a saas application",
		"6:19: applications[1].type: unknown type \"ssh\"; want self_hosted, saas, bookmark, app_launcher, warp or admin_console",
		"7:5: applications[2].domain: a bookmark needs the URL its tile opens",
		"7:39: applications[2].upstream: only self_hosted applications have an upstream, not bookmark",
		"9:19: applications[4].type: there can be only one app_launcher application (applications[3] is one)",
	}},
	{"warp app", head + "applications:\n  - {id: w, type: warp, policies: [{ref: p, precedence: 1}]}\n  - {id: x, type: warp, upstream: 'http://x', destinations: [x.example.com], domain: x.example.com}\npolicies: [{id: p, decision: allow, include: [{everyone: {}}]}]\n", []string{
		"6:5: applications[1].policies: a warp application needs at least one policy: nobody could enrol a device",
		"6:19: applications[1].type: there can be only one warp application (applications[0] is one)",
		"6:35: applications[1].upstream: a warp application has no upstream: it is served on the auth domain (gateway/enroll)",
		"6:61: applications[1].destinations: a warp application has no destinations: it is served on the auth domain (gateway/enroll)",
		"6:86: applications[1].domain: a warp application has no domain: it is served on the auth domain (gateway/enroll)",
	}},
	{"admin_console app", head + "applications:\n  - {id: c, type: admin_console, policies: [{ref: p, precedence: 1, role: administrator}, {ref: q, precedence: 2}]}\n  - {id: d, type: admin_console, upstream: 'http://x', policies: [{ref: p, precedence: 1, role: root}]}\n  - {id: e, type: bookmark, domain: 'https://x.example.com/', policies: [{ref: p, precedence: 1, role: auditor}]}\npolicies: [{id: p, decision: allow, include: [{everyone: {}}]}, {id: q, decision: allow, include: [{everyone: {}}]}]\n", []string{
		"5:91: applications[0].policies[1].role: must be administrator, read_only or auditor (the console role this policy gives), not \"\"",
		"6:19: applications[1].type: there can be only one admin_console application (applications[0] is one)",
		"6:44: applications[1].upstream: an admin_console application has no upstream: it is served on the auth domain (admin/)",
		"6:97: applications[1].policies[0].role: must be administrator, read_only or auditor (the console role this policy gives), not \"root\"",
		"7:104: applications[2].policies[0].role: only the policies of an admin_console application have a role (this is a bookmark application)",
	}},
	{"gateway proxy_address", head + "gateway: {proxy_address: 'proxy.example.com'}\n", []string{
		"4:26: gateway.proxy_address: must be host:port, the address users configure as their proxy (for example proxy.example.com:3128)",
	}},
	{"gateway proxy_address port", head + "gateway: {proxy_address: 'bad_host!:99999'}\n", []string{
		"4:26: gateway.proxy_address: \"bad_host!\" is not a valid host name or IP address",
		"4:26: gateway.proxy_address: must end in a port number between 1 and 65535",
	}},
	{"self_hosted needs destinations and upstream", head + "applications:\n  - id: a\n", []string{
		"5:5: applications[0].destinations: a self_hosted application needs at least one destination",
		"5:5: applications[0].upstream: is required for a self_hosted application",
	}},
	{"upstream URLs", head + "applications:\n  - {id: a, destinations: [a.example.com], upstream: 'ftp://a'}\n  - {id: b, destinations: [b.example.com], upstream: 'http://u:p@b'}\n  - {id: c, destinations: [c.example.com], upstream: 'http://c/?q=1'}\n  - {id: d, destinations: [d.example.com], upstream: 'http://d/#f'}\n  - {id: e, destinations: [e.example.com], upstream: '/path'}\n", []string{
		"5:54: applications[0].upstream: must be an http:// or https:// URL",
		"6:54: applications[1].upstream: must not contain user information (credentials); configure authentication on the origin",
		"7:54: applications[2].upstream: must not have a query",
		"8:54: applications[3].upstream: must not have a fragment",
		"9:54: applications[4].upstream: must be an http:// or https:// URL",
	}},
	{"app session duration", head + "applications:\n  - {id: a, destinations: [a.example.com], upstream: 'http://a', session_duration: 0s}\n  - {id: b, destinations: [b.example.com], upstream: 'http://b', session_duration: 721h}\n", []string{
		"5:84: applications[0].session_duration: must be greater than 0 and at most 720h (leave it out for the default, 24h)",
		"6:84: applications[1].session_duration: must be greater than 0 and at most 720h (leave it out for the default, 24h)",
	}},
	{"allowed idps and auto redirect", head + "identity_providers: [{id: p1, type: onetimepin}, {id: p2, type: onetimepin}]\napplications:\n  - {id: a, destinations: [a.example.com], upstream: 'http://a', allowed_idps: [p1, p1, nope], auto_redirect_to_identity: true}\n  - {id: b, destinations: [b.example.com], upstream: 'http://b', auto_redirect_to_identity: true}\n", []string{
		"6:85: applications[0].allowed_idps[1]: duplicate of allowed_idps[0]",
		"6:89: applications[0].allowed_idps[2]: unknown identity provider \"nope\"",
		"6:123: applications[0].auto_redirect_to_identity: requires exactly one identity provider in allowed_idps (there are 3)",
		"7:93: applications[1].auto_redirect_to_identity: requires exactly one identity provider: list it in allowed_idps (the organization has 2)",
	}},
	{"cookie and urls", head + "applications:\n  - id: a\n    destinations: [a.example.com]\n    upstream: http://a\n    same_site_cookie_attribute: Lax\n    custom_deny_url: /denied\n    custom_non_identity_deny_url: 'javascript:alert(1)'\n    logo_url: 'https://u:p@x/logo.png'\n", []string{
		"8:33: applications[0].same_site_cookie_attribute: must be none, lax or strict, not \"Lax\"",
		"9:22: applications[0].custom_deny_url: must be an absolute http:// or https:// URL",
		"10:35: applications[0].custom_non_identity_deny_url: must be an absolute http:// or https:// URL",
		"11:15: applications[0].logo_url: must not contain user information",
	}},
	{"cors", head + "applications:\n  - id: a\n    destinations: [a.example.com]\n    upstream: http://a\n    options_preflight_bypass: true\n    cors_headers:\n      allowed_methods: [GET, get, FETCH]\n      allowed_headers: ['X-Ok', 'bad header']\n      allowed_origins: ['https://ok.example.com', 'https://x.example.com/path', '*']\n      max_age: 86401\n", []string{
		"8:31: applications[0].options_preflight_bypass: cannot be combined with cors_headers: either Gatehouse answers preflight requests or the origin does",
		"10:30: applications[0].cors_headers.allowed_methods[1]: unknown method \"get\"; want one of GET, POST, HEAD, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH",
		"10:35: applications[0].cors_headers.allowed_methods[2]: unknown method \"FETCH\"; want one of GET, POST, HEAD, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH",
		"11:33: applications[0].cors_headers.allowed_headers[1]: is not a valid header name",
		"12:51: applications[0].cors_headers.allowed_origins[1]: must be an origin such as https://app.example.com",
		"12:81: applications[0].cors_headers.allowed_origins[2]: must be an origin such as https://app.example.com",
		"13:16: applications[0].cors_headers.max_age: must be between -1 and 86400 seconds",
	}},
	{"aud", head + "applications:\n  - {id: a, destinations: [a.example.com], upstream: 'http://a', aud: XYZ}\n  - {id: b, destinations: [b.example.com], upstream: 'http://b', aud: " + sha0 + "}\n  - {id: c, destinations: [c.example.com], upstream: 'http://c', aud: " + sha0 + "}\n", []string{
		"5:71: applications[0].aud: must be 64 lower-case hexadecimal characters",
		"7:71: applications[2].aud: is also the aud of applications[1]; audience tags must be unique",
	}},
	{"destinations (route)", head + "applications:\n  - {id: a, destinations: [a.example.com, 'a.example.com/x*y*', auth.example.com], upstream: 'http://a'}\n  - {id: b, destinations: [A.example.com], upstream: 'http://b'}\n", []string{
		"5:43: applications[0].destinations[1]: \"a.example.com/x*y*\": path segment \"x*y*\" has more than one *",
		"5:65: applications[0].destinations[2]: auth.example.com is the auth domain (organization.auth_domain), which Gatehouse serves itself",
		"6:28: applications[1].destinations[0]: \"A.example.com\": host must be lower-case (\"a.example.com\")",
	}},
	{"e-mail normal form (policy)", head + "lists: [{id: l, type: EMAIL, items: [{value: ok@example.com}, {value: \"sam\\u200B@example.com\"}]}]\npolicies:\n  - id: p\n    decision: allow\n    include:\n      - email: {email: \"\\u212Aate@example.com\"}\n      - email_domain: {domain: \"\\u017Fales.test\"}\n      - email_domain: {domain: \"@B\u00dcCHER.de\"}\n      - gsuite: {email: \"s\u0430les@example.com\"}\n", []string{
		"4:71: lists[0].items[1].value: invalid e-mail address \"sam\\u200b@example.com\": contains the invisible or formatting character U+200B",
		"9:24: policies[0].include[0].email.email: invalid e-mail address \"\\u212aate@example.com\": local part: U+212A becomes the ASCII \"k\" under Unicode case mapping",
		"10:32: policies[0].include[1].email_domain.domain: invalid e-mail domain \"\\u017fales.test\": U+017F becomes the ASCII \"s\" under Unicode case mapping",
		"11:32: policies[0].include[2].email_domain.domain: invalid e-mail domain \"B\\u00dcCHER.de\": U+00DC is an upper-case letter: write non-ASCII letters in lower case",
		"12:25: policies[0].include[3].gsuite.email: invalid e-mail address \"s\\u0430les@example.com\": local part: mixes the Latin, Cyrillic scripts",
	}},
	{"policies (policy)", head + "lists: [{id: l, type: EMAIL, items: [{value: not-an-email}]}]\ngroups: [{id: g, include: [{group: {id: g}}]}]\npolicies:\n  - id: p\n    decision: maybe\n    include:\n      - ip: {ip: 10.0.0.300/8}\n      - email: {email: a@example.com}\n        geo: {country_code: DE}\n  - {id: q, decision: allow, include: [{service_token: {token_id: nope}}], session_duration: 0s}\napplications:\n  - {id: a, destinations: [a.example.com], upstream: 'http://a', policies: [{ref: p, precedence: 1}, {ref: nope, precedence: 1}]}\n", []string{
		"4:46: lists[0].items[0].value: invalid e-mail address \"not-an-email\": no '@'",
		"5:41: groups[0].include[0].group.id: group reference cycle: g -> g",
		"8:15: policies[0].decision: unknown decision \"maybe\" (want allow, deny, bypass or non_identity)",
		"10:18: policies[0].include[0].ip.ip: invalid CIDR: netip.ParsePrefix(\"10.0.0.300/8\"): ParseAddr(\"10.0.0.300\"): IPv4 field has value >255",
		"11:9: policies[0].include[1]: rule has 2 selectors (email, geo); a rule holds exactly one, use one list element per selector",
		"13:67: policies[1].include[0].service_token.token_id: unknown service token \"nope\"",
		"13:94: policies[1].session_duration: must be greater than 0 and at most 720h (leave it out to use the application's)",
		"15:108: applications[0].policies[1].ref: unknown policy \"nope\"",
		"15:126: applications[0].policies[1].precedence: precedence 1 is already used by policies[0]",
	}},
	{"service tokens", head + "service_tokens:\n  - {id: a, client_id: 'c 1', client_secret: short}\n  - {id: b, client_id: c2}\n  - {id: c, client_id: c2, client_secret: {env: X}, client_secret_sha256: " + sha0 + "}\n  - {id: d, client_id: c4, client_secret_sha256: abc, duration: 0s}\n  - {id: e, client_id: c5, client_secret: {value: x, env: Y}}\n", []string{
		"5:24: service_tokens[0].client_id: may only contain letters, digits, '-', '_' and '.'",
		"5:46: service_tokens[0].client_secret: must be at least 32 characters",
		"6:5: service_tokens[1]: client_secret or client_secret_sha256 is required",
		"7:24: service_tokens[2].client_id: is also the client_id of service_tokens[1]",
		"7:43: service_tokens[2].client_secret: give either client_secret or client_secret_sha256, not both",
		"8:50: service_tokens[3].client_secret_sha256: must be a SHA-256 in hexadecimal (64 characters)",
		"8:65: service_tokens[3].duration: must be greater than 0 (leave it out for the default, 8760h)",
		"9:43: service_tokens[4].client_secret: give exactly one of value, file or env",
	}},
	{"http2 limits", head + "limits: {http2_max_concurrent_streams: 2000, http2_streams_per_second: -1, http2_stream_burst: 50, http2_resets_per_second: -5, http2_reset_burst: -1}\n", []string{
		"4:40: limits.http2_max_concurrent_streams: must be between 1 and 1000",
		"4:72: limits.http2_streams_per_second: must be between 1 and 1000000",
		"4:96: limits.http2_stream_burst: must be at least http2_max_concurrent_streams, or a client could not fill its streams",
		"4:125: limits.http2_resets_per_second: must be between 1 and 1000000",
		"4:148: limits.http2_reset_burst: must be between 1 and 1000000",
	}},
	{"proxy strip_request_headers", head + "proxy: {strip_request_headers: [X-Ok, Host, 'X-*-Y', 'Transfer-*', 'Bad Name', '']}\n", []string{
		"4:39: proxy.strip_request_headers[1]: \"Host\": would remove Host, which frames the request",
		"4:45: proxy.strip_request_headers[2]: \"X-*-Y\": \"*\" is only allowed at the end after \"-\" (\"X-Family-*\") or at the start before \"-\" (\"*-Suffix\")",
		"4:54: proxy.strip_request_headers[3]: \"Transfer-*\": would remove Transfer-Encoding, which frames the request",
		"4:68: proxy.strip_request_headers[4]: \"Bad Name\": byte 0x20 is not allowed in a header name",
		"4:80: proxy.strip_request_headers[5]: \"\": empty",
	}},
	{"limits and log", head + "limits: {max_request_header_bytes: 1KiB, max_request_body_bytes: -2, upstream_timeout: 0s, idle_timeout: 10ms}\nlog: {level: verbose, format: xml}\n", []string{
		"4:36: limits.max_request_header_bytes: must be between 4KiB and 16MiB",
		"4:66: limits.max_request_body_bytes: size must not be negative",
		"4:88: limits.upstream_timeout: must be at least 1s",
		"4:106: limits.idle_timeout: must be at least 1s",
		"5:14: log.level: must be debug, info, warn or error, not \"verbose\"",
		"5:31: log.format: must be json or text, not \"xml\"",
	}},
	{"prompt protection", head + "applications:\n" +
		"  - id: llm\n    destinations: [llm.example.com]\n    upstream: 'http://10.0.0.9:8000'\n" +
		"    prompt_protection:\n      enabled: true\n      block_topics: [intent_jailbreak, jailbreak, intent_jailbreak]\n" +
		"      fail_mode: maybe\n      block_message: \"no\\u0007\"\n" +
		"      log_prompts: {include: [{group: {id: contractors}}], exclude: [{email: {email: 'not an address'}}]}\n" +
		"  - id: wiki\n    type: bookmark\n    domain: 'https://wiki.example.com'\n    prompt_protection: {enabled: true}\n" +
		"  - id: chat\n    destinations: [chat.example.com]\n    upstream: 'http://10.0.0.9:8001'\n    prompt_protection: {enabled: true, log_prompts: {include: []}}\n", []string{
		"10:40: applications[0].prompt_protection.block_topics[1]: unknown topic \"jailbreak\"; want one of content_pii, content_credentials_secrets, content_source_code, content_customer_data, content_financial, intent_pii, intent_code_abuse, intent_jailbreak",
		"10:51: applications[0].prompt_protection.block_topics[2]: duplicate of block_topics[0]",
		"11:18: applications[0].prompt_protection.fail_mode: must be closed or open, not \"maybe\"",
		"12:22: applications[0].prompt_protection.block_message: must be UTF-8 text without control characters",
		"13:20: applications[0].prompt_protection.log_prompts: needs dlp.payload_log.public_key: prompt logs are encrypted to it (generate one with `gatehouse dlp keygen`)",
		"13:44: applications[0].prompt_protection.log_prompts.include[0].group.id: unknown group \"contractors\"",
		"13:86: applications[0].prompt_protection.log_prompts.exclude[0].email.email: invalid e-mail address \"not an address\": no '@'",
		"17:24: applications[1].prompt_protection: only self_hosted applications have prompt_protection, not bookmark",
		"21:53: applications[2].prompt_protection.log_prompts: needs dlp.payload_log.public_key: prompt logs are encrypted to it (generate one with `gatehouse dlp keygen`)",
		"21:63: applications[2].prompt_protection.log_prompts.include: needs at least one include rule; use {everyone: {}} to capture everyone's prompts",
	}},
}

// sha0 is the SHA-256 of the empty string, a well-formed hash.
const sha0 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
