package dlp

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strings"
)

// secretDoc is one file of the secrets corpus: a realistic configuration,
// script or source file. Kind names the credential it holds ("" for a hard
// negative holding none); Lines is the 1-based inclusive line range the
// credential occupies, which a finding must overlap to count as found.
type secretDoc struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Lines [2]int `json:"lines"`
	Text  string `json:"-"`
}

// secretKinds are the credential types of the corpus, with the formats the
// providers document. Every tool is scored on all of them, including
// kinds a tool has no rule for.
var secretKinds = []string{
	"aws_access_key_pair", "aws_secret_alone", "gcp_api_key", "azure_client_secret", "github_classic",
	"github_fine_grained", "github_oauth", "slack_bot_token", "slack_user_token", "slack_webhook",
	"stripe_live_key", "openai_project_key", "openai_legacy_key", "anthropic_key", "npm_token", "pypi_token",
	"private_key_rsa", "private_key_openssh", "private_key_pkcs8", "jwt_bearer", "password_assignment",
	"generic_api_key", "url_password", "discord_webhook", "cloudflare_token", "gitlab_pat", "huggingface_token",
	"sendgrid_key", "shopify_token", "digitalocean_token", "vault_token", "google_oauth_secret", "postman_key",
	"linear_key", "atlassian_token", "doppler_token",
}

// secretNegatives are the hard negatives: values that look like
// credentials to a pattern but are not (placeholders, references,
// documentation examples, hashes, identifiers, public material, invalid
// checksums).
var secretNegatives = []string{
	"aws_doc_example", "env_reference", "placeholder_password", "sha256_checksum", "git_sha", "uuid_client_id",
	"image_data_uri", "public_key", "certificate", "code_identifier", "lockfile_integrity", "token_type_field",
	"github_bad_checksum", "docker_digest", "short_password_field", "prose_about_secrets", "jwtio_example",
	"base64_config_blob", "npm_package_name", "sri_hash", "key_from_call", "pwd_path", "changelog_path",
	"url_example_credentials",
}

// secretsCorpus returns n documents per credential kind and n per hard
// negative kind, each wrapped in one of several file formats.
func secretsCorpus(seed uint64, n int) []secretDoc {
	g := newGen(seed)
	var docs []secretDoc
	for _, k := range secretKinds {
		for i := 0; i < n; i++ {
			d := g.secretDoc(k)
			d.Kind = k
			d.Name = fmt.Sprintf("%04d-%s%s", len(docs), k, d.Name)
			docs = append(docs, d)
		}
	}
	for _, k := range secretNegatives {
		for i := 0; i < n; i++ {
			d := g.negativeDoc(k)
			d.Name = fmt.Sprintf("%04d-neg-%s%s", len(docs), k, d.Name)
			docs = append(docs, d)
		}
	}
	return docs
}

// fileCtx wraps key/value lines in a file format; it returns the file
// extension, the text and the line range of the wrapped lines.
func (g *gen) fileCtx(kv [][2]string) (ext, text string, lines [2]int) {
	var b strings.Builder
	line := 1
	w := func(s string) {
		b.WriteString(s)
		b.WriteByte('\n')
		line += strings.Count(s, "\n") + 1
	}
	filler := func(k int) {
		for i := 0; i < k; i++ {
			w(g.pick("# service configuration", "", "LOG_LEVEL=info", "PORT=8080", "# see docs/deploy.md",
				"REGION=eu-west-1", "FEATURE_FLAGS=search,billing", "TIMEOUT_SECONDS=30", "RETRIES=3"))
		}
	}
	switch g.r.IntN(5) {
	case 0: // .env
		filler(1 + g.r.IntN(4))
		lines[0] = line
		for _, p := range kv {
			w(strings.ToUpper(p[0]) + "=" + p[1])
		}
		lines[1] = line - 1
		filler(g.r.IntN(4))
		return ".env", b.String(), lines
	case 1: // YAML
		w("service:")
		w("  name: " + g.pick("billing", "search", "ingest", "gateway"))
		w("  replicas: " + g.digits(1))
		w("credentials:")
		lines[0] = line
		q := g.pick("", "\"", "'")
		for _, p := range kv {
			w("  " + strings.ToLower(p[0]) + ": " + q + p[1] + q)
		}
		lines[1] = line - 1
		w("logging:")
		w("  level: info")
		return ".yaml", b.String(), lines
	case 2: // JSON
		w("{")
		w(`  "name": "` + g.pick("billing", "search", "ingest") + `",`)
		w(`  "timeout": 30,`)
		lines[0] = line
		for _, p := range kv {
			w(`  "` + camel(p[0]) + `": "` + p[1] + `",`)
		}
		lines[1] = line - 1
		w(`  "debug": false`)
		w("}")
		return ".json", b.String(), lines
	case 3: // Python
		w("import os")
		w("import requests")
		w("")
		lines[0] = line
		for _, p := range kv {
			w(strings.ToUpper(p[0]) + " = \"" + p[1] + "\"")
		}
		lines[1] = line - 1
		w("")
		w("def fetch(path):")
		w("    return requests.get(BASE_URL + path, timeout=10)")
		return ".py", b.String(), lines
	default: // shell
		w("#!/usr/bin/env bash")
		w("set -euo pipefail")
		lines[0] = line
		for _, p := range kv {
			w("export " + strings.ToUpper(p[0]) + "='" + p[1] + "'")
		}
		lines[1] = line - 1
		w("./deploy.sh --env production")
		return ".sh", b.String(), lines
	}
}

func camel(s string) string {
	parts := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func (g *gen) kvDoc(kv ...[2]string) secretDoc {
	ext, text, lines := g.fileCtx(kv)
	return secretDoc{Name: ext, Text: text, Lines: lines}
}

// rawDoc places a multi-line block (a PEM key, a curl command) inside a
// small file.
func (g *gen) rawDoc(ext, before, block, after string) secretDoc {
	start := strings.Count(before, "\n") + 1
	end := start + strings.Count(strings.TrimRight(block, "\n"), "\n")
	return secretDoc{Name: ext, Text: before + block + after, Lines: [2]int{start, end}}
}

func checksummed(g *gen, prefix string) string {
	body := g.str(alnum, 30)
	return prefix + body + base62Checksum(crc32.ChecksumIEEE([]byte(body)))
}

func (g *gen) password() string {
	// What people pick for service accounts: mixed classes, 12–24 characters.
	return g.str(alnum, 8+g.r.IntN(10)) + g.pick("!", "#", "%", "@", "-", "_") + g.str(alnum, 3+g.r.IntN(5))
}

func (g *gen) pem(kind string) string {
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "-----\n")
	for i := 0; i < 8+g.r.IntN(8); i++ {
		b.WriteString(g.str(b64set, 64) + "\n")
	}
	b.WriteString(g.str(b64set, 4*(1+g.r.IntN(10))) + "\n")
	b.WriteString("-----END " + kind + "-----\n")
	return b.String()
}

func (g *gen) secretDoc(kind string) secretDoc {
	switch kind {
	case "aws_access_key_pair":
		return g.kvDoc([2]string{"aws_access_key_id", "AKIA" + g.str(b32, 16)},
			[2]string{"aws_secret_access_key", g.str(b64set, 40)})
	case "aws_secret_alone":
		return g.kvDoc([2]string{g.pick("aws_secret_access_key", "aws_secret_key", "s3_secret_access_key"), g.str(b64set, 40)})
	case "gcp_api_key":
		return g.kvDoc([2]string{g.pick("google_api_key", "maps_api_key", "firebase_api_key"), "AIza" + g.str(urlset, 35)})
	case "azure_client_secret":
		return g.kvDoc([2]string{g.pick("azure_client_secret", "aad_client_secret", "entra_app_secret"),
			g.str(alnum, 3) + g.digits(1) + "Q~" + g.str(alnum+"_-.~", 34)})
	case "github_classic":
		return g.kvDoc([2]string{g.pick("github_token", "gh_token", "ci_push_token"), checksummed(g, "ghp_")})
	case "github_fine_grained":
		return g.kvDoc([2]string{g.pick("github_token", "gh_pat"), "github_pat_" + g.str(alnum, 22) + "_" + g.str(alnum, 59)})
	case "github_oauth":
		return g.kvDoc([2]string{"oauth_access_token", checksummed(g, g.pick("gho_", "ghu_", "ghs_"))})
	case "slack_bot_token":
		return g.kvDoc([2]string{"slack_bot_token", "xoxb-" + g.digits(10+g.r.IntN(3)) + "-" + g.digits(12+g.r.IntN(2)) + "-" + g.str(alnum, 24)})
	case "slack_user_token":
		return g.kvDoc([2]string{"slack_token", "xoxp-" + g.digits(11) + "-" + g.digits(11) + "-" + g.digits(13) + "-" + g.str("0123456789abcdef", 32)})
	case "slack_webhook":
		return g.kvDoc([2]string{g.pick("slack_webhook_url", "alerts_hook"),
			"https://hooks.slack.com/services/T" + g.str(upper+"0123456789", 8+g.r.IntN(3)) + "/B" + g.str(upper+"0123456789", 8+g.r.IntN(3)) + "/" + g.str(alnum, 24)})
	case "stripe_live_key":
		return g.kvDoc([2]string{g.pick("stripe_secret_key", "stripe_key", "payments_api_key"), g.pick("sk_live_", "rk_live_") + g.str(alnum, g.pick1(24, 34, 99))})
	case "openai_project_key":
		return g.kvDoc([2]string{g.pick("openai_api_key", "llm_key"), "sk-proj-" + g.str(urlset, 74) + "T3BlbkFJ" + g.str(urlset, 74)})
	case "openai_legacy_key":
		return g.kvDoc([2]string{g.pick("openai_api_key", "openai_key"), "sk-" + g.str(alnum, 20) + "T3BlbkFJ" + g.str(alnum, 20)})
	case "anthropic_key":
		return g.kvDoc([2]string{g.pick("anthropic_api_key", "claude_key"), "sk-ant-" + g.pick("api03", "admin01") + "-" + g.str(urlset, 93) + "AA"})
	case "npm_token":
		tok := checksummed(g, "npm_")
		if g.r.IntN(2) == 0 {
			return g.rawDoc(".npmrc", "registry=https://registry.npmjs.org/\n", "//registry.npmjs.org/:_authToken="+tok+"\n", "always-auth=true\n")
		}
		return g.kvDoc([2]string{"npm_token", tok})
	case "pypi_token":
		tok := "pypi-AgEIcHlwaS5vcmc" + g.str(urlset, 150+g.r.IntN(40))
		return g.rawDoc(".pypirc", "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\n", "password = "+tok+"\n", "")
	case "private_key_rsa":
		return g.rawDoc(".pem", "", g.pem("RSA PRIVATE KEY"), "")
	case "private_key_openssh":
		return g.rawDoc("", "", g.pem("OPENSSH PRIVATE KEY"), "")
	case "private_key_pkcs8":
		return g.rawDoc(".py", "TLS_KEY = \"\"\"\\\n", g.pem(g.pick("PRIVATE KEY", "EC PRIVATE KEY")), "\"\"\"\n")
	case "jwt_bearer":
		tok := g.jwt()
		return g.rawDoc(".sh", "#!/bin/sh\n", "curl -s -H \"Authorization: Bearer "+tok+"\" https://api.internal.example/v1/orders\n", "")
	case "password_assignment":
		return g.kvDoc([2]string{g.pick("db_password", "postgres_password", "smtp_password", "redis_password", "admin_password"), g.password()})
	case "generic_api_key":
		return g.kvDoc([2]string{g.pick("acme_api_key", "sendmail_api_token", "metrics_ingest_key", "vendor_secret_key", "partner_auth_token"),
			g.pick(g.str(alnum, 32), g.str("0123456789abcdef", 40), g.str(urlset, 48))})
	case "url_password":
		return g.kvDoc([2]string{g.pick("database_url", "redis_url", "amqp_url", "mongo_uri"),
			g.pick("postgres", "redis", "amqp", "mongodb") + "://" + g.pick("app", "svc_billing", "admin") + ":" + g.password() + "@" + g.pick("db", "10.0.3.12", "cache.internal") + ":" + g.digits(4) + "/" + g.pick("app", "0", "prod")})
	case "discord_webhook":
		return g.kvDoc([2]string{"discord_webhook", "https://discord.com/api/webhooks/" + g.digits(18) + "/" + g.str(urlset, 68)})
	case "cloudflare_token":
		return g.kvDoc([2]string{g.pick("cloudflare_api_token", "cf_token"), g.pick("cfut_", "cfat_", "cfk_") + g.str(alnum, 40) + g.str("0123456789abcdef", 8)})
	case "gitlab_pat":
		return g.kvDoc([2]string{g.pick("gitlab_token", "ci_registry_password", "gl_token"), "glpat-" + g.str(alnum+"_-", 20)})
	case "huggingface_token":
		return g.kvDoc([2]string{g.pick("hf_token", "huggingface_hub_token"), "hf_" + g.str(alnum[:52], 34)})
	case "sendgrid_key":
		return g.kvDoc([2]string{g.pick("sendgrid_api_key", "mail_key"), "SG." + g.str(urlset, 22) + "." + g.str(urlset, 43)})
	case "shopify_token":
		return g.kvDoc([2]string{g.pick("shopify_access_token", "store_token"), g.pick("shpat_", "shpca_", "shppa_", "shpss_") + g.str("0123456789abcdef", 32)})
	case "digitalocean_token":
		return g.kvDoc([2]string{g.pick("digitalocean_token", "do_token"), g.pick("dop_v1_", "doo_v1_", "dor_v1_") + g.str("0123456789abcdef", 64)})
	case "vault_token":
		return g.kvDoc([2]string{g.pick("vault_token", "vault_addr_token"), "hvs." + g.str(urlset, 91)})
	case "google_oauth_secret":
		return g.kvDoc([2]string{g.pick("google_client_secret", "oauth_client_secret"), "GOCSPX-" + g.str(urlset, 28)})
	case "postman_key":
		return g.kvDoc([2]string{g.pick("postman_api_key", "pm_key"), "PMAK-" + g.str("0123456789abcdef", 24) + "-" + g.str("0123456789abcdef", 34)})
	case "linear_key":
		return g.kvDoc([2]string{g.pick("linear_api_key", "linear_token"), "lin_api_" + g.str(alnum, 40)})
	case "atlassian_token": // 192 characters, as issued
		return g.kvDoc([2]string{g.pick("jira_api_token", "atlassian_token"), "ATATT3xFfGF0" + g.str(urlset, 171) + "=" + g.str("0123456789ABCDEF", 8)})
	case "doppler_token":
		return g.kvDoc([2]string{g.pick("doppler_token", "dp_token"), g.pick("dp.pt.", "dp.st.") + g.str(alnum, 43)})
	}
	panic("unknown secret kind " + kind)
}

func (g *gen) negativeDoc(kind string) secretDoc {
	d := g.negativeDocText(kind)
	d.Lines = [2]int{}
	return d
}

func (g *gen) negativeDocText(kind string) secretDoc {
	switch kind {
	case "aws_doc_example":
		return g.kvDoc([2]string{"aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"},
			[2]string{"aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	case "env_reference":
		return g.kvDoc([2]string{g.pick("db_password", "api_key", "client_secret"),
			g.pick("${DB_PASSWORD}", "$(cat /run/secrets/api_key)", "{{ .Values.secret }}", "os.environ['API_KEY']", "process.env.CLIENT_SECRET")})
	case "placeholder_password":
		return g.kvDoc([2]string{g.pick("db_password", "api_key", "auth_token"),
			g.pick("changeme", "<your-api-key>", "xxxxxxxxxxxxxxxx", "********", "REPLACE_ME", "your-token-here", "TODO")})
	case "sha256_checksum":
		return g.kvDoc([2]string{g.pick("artifact_sha256", "checksum", "release_digest"), g.str("0123456789abcdef", 64)})
	case "git_sha":
		return g.kvDoc([2]string{g.pick("git_commit", "build_revision", "source_version"), g.str("0123456789abcdef", 40)})
	case "uuid_client_id":
		u := g.str("0123456789abcdef", 32)
		return g.kvDoc([2]string{g.pick("client_id", "tenant_id", "request_id"), u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:]})
	case "image_data_uri":
		img := make([]byte, 60+g.r.IntN(60))
		copy(img, "\x89PNG\r\n\x1a\n")
		for i := 8; i < len(img); i++ {
			img[i] = byte(g.r.IntN(256))
		}
		return g.kvDoc([2]string{"logo", "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)})
	case "public_key":
		return g.rawDoc(".pem", "", g.pem("PUBLIC KEY"), "")
	case "certificate":
		return g.rawDoc(".crt", "", g.pem("CERTIFICATE"), "")
	case "code_identifier":
		return g.rawDoc(".js", "", g.pick(
			"const passwordResetToken = await tokens.issue(user, { ttl: RESET_TTL_SECONDS });\n",
			"if (apiKey === undefined) { throw new Error('missing api key'); }\n",
			"secretManager.getSecretValue({ SecretId: secretName }).promise();\n",
			"const tokenizer = new Tokenizer(options.vocabulary);\n"), "export default handler;\n")
	case "lockfile_integrity":
		return g.kvDoc([2]string{"integrity", "sha512-" + base64.StdEncoding.EncodeToString([]byte(g.str(alnum, 64)))[:86] + "=="})
	case "token_type_field":
		return g.rawDoc(".json", "{\n", `  "token_type": "Bearer",`+"\n"+`  "expires_in": 3600,`+"\n", "  \"scope\": \"read:orders\"\n}\n")
	case "github_bad_checksum":
		return g.kvDoc([2]string{"github_token", "ghp_" + g.str(alnum, 36)})
	case "docker_digest":
		return g.rawDoc(".yaml", "containers:\n  - name: app\n", "    image: registry.internal/app@sha256:"+g.str("0123456789abcdef", 64)+"\n", "")
	case "short_password_field":
		return g.rawDoc(".html", "<form>\n", `  <input type="password" name="password" autocomplete="current-password" minlength="12">`+"\n", "</form>\n")
	case "prose_about_secrets":
		return g.rawDoc(".md", "# Rotating credentials\n\n",
			"Rotate the API key and the database password every 90 days; the token service emits an audit event for each rotation.\n",
			"Never paste a secret into a ticket.\n")
	case "jwtio_example":
		return g.kvDoc([2]string{"sample_token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"})
	case "base64_config_blob":
		return g.kvDoc([2]string{"feature_config", base64.StdEncoding.EncodeToString([]byte(`{"search":{"enabled":true,"shards":` + g.digits(2) + `},"ui":{"theme":"dark"}}`))})
	case "npm_package_name":
		return g.rawDoc(".json", "{\n  \"dependencies\": {\n", `    "npm_lifecycle_helpers": "^`+g.digits(1)+"."+g.digits(1)+`.0",`+"\n"+`    "token-bucket": "^2.0.1"`+"\n", "  }\n}\n")
	case "sri_hash":
		sum := make([]byte, 48)
		for i := range sum {
			sum[i] = byte(g.r.IntN(256))
		}
		return g.rawDoc(".html", "<head>\n", `  <script src="https://cdn.example.net/lib.js" integrity="sha384-`+base64.StdEncoding.EncodeToString(sum)+`" crossorigin="anonymous"></script>`+"\n", "</head>\n")
	case "key_from_call":
		return g.rawDoc(g.pick(".c", ".js", ".go"), "", g.pick(
			"    dsigCtx->signKey = xmlSecCryptoAppKeyLoad(key_file, xmlSecKeyDataFormatPem, NULL, NULL, NULL);\n",
			"const derivedKey = hkdfSync('sha512', secret, salt, info, 64);\n",
			"\tsigningKey := ed25519.NewKeyFromSeed(seed[:"+g.digits(2)+"])\n",
			"    mngr->getKey = xmlSecKeysMngrGetKey;\n"), "")
	case "pwd_path":
		return g.kvDoc([2]string{"pwd", g.pick("/home/", "/Users/", "/srv/") + strings.ToLower(g.str(upper, 6)) + "/project" + g.digits(2)})
	case "changelog_path":
		return g.rawDoc(".txt", "Changes in v2."+g.digits(2)+":\n\n", "  t/t0300-credentials.sh: fix flaky test on slow machines ("+g.digits(7)+")\n"+
			"  src/secrets/SecretKeyFactory.java: Correct error handling for empty key specs\n", "\n")
	case "url_example_credentials":
		return g.rawDoc(".md", "Credentials in a URL are passed on:\n\n", "    const u = new URL('https://"+g.pick("abc:xyz", "user:pass", "alice:"+g.str(alnum, 10))+"@"+g.pick("example.com", "example.org", "api.example.net")+"/v1');\n", "\n")
	}
	panic("unknown negative kind " + kind)
}
