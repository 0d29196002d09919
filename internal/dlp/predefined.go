package dlp

import (
	"fmt"
	"regexp"
	"sort"
)

func num(id, name, pattern string, match func([]byte, int) int, minDigits int, check func(string) (candidate, bool), kw ...string) *Entry {
	return &Entry{ID: id, Name: name, Kind: "predefined", Keywords: kw,
		det: numberEntry{re: regexp.MustCompile(pattern), minDigits: minDigits, match: match, check: check}}
}

func tok(id, name string, keep int, t tokenEntry, kw ...string) *Entry {
	t.leftBound = true
	return &Entry{ID: id, Name: name, Kind: "predefined", Keywords: kw, det: t, keepPrefix: keep}
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// azureTriggers are "0Q~" … "9Q~": the digit before "Q~" is part of the
// format, and three-byte triggers let the prefilter skip every other byte.
var azureTriggers = func() []string {
	out := make([]string, 10)
	for d := range out {
		out[d] = string(rune('0'+d)) + "Q~"
	}
	return out
}()

// predefinedEntries is built once; entries are immutable.
var predefinedEntries = []*Entry{
	num("payment_card", "Payment card number", `\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,4}(?:[ -]?\d{1,3})?|\d{4}[ -]?\d{6}[ -]?\d{4,5}`, matchCard, 13, cardCheck,
		"card", "credit", "debit", "visa", "mastercard", "amex", "american express", "discover", "jcb", "diners",
		"union pay", "unionpay", "cc", "pan", "expiry", "exp", "cvv", "cvc"),
	num("us_ssn", "US Social Security number", `\d{3}[- ]\d{2}[- ]\d{4}`, matchSSN, 9, ssnCheck,
		"ssn", "social security", "ss#", "ssa", "taxpayer"),
	num("us_aba_routing", "US ABA routing number", `\d{9}`, matchABA, 9, abaCheck,
		"routing", "aba", "rtn", "transit", "bank", "ach", "wire"),
	num("ca_sin", "Canadian Social Insurance Number", `\d{3}[ -]?\d{3}[ -]?\d{3}`, matchSIN, 9, sinCheck,
		"sin", "social insurance", "numéro d'assurance sociale", "nas"),
	num("phone", "Phone number",
		`\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){1,4}[ .-]?\d{2,4}|\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4}`, matchPhone, 8, phoneCheck,
		"phone", "tel", "telephone", "mobile", "cell", "call", "fax", "contact"),
	{ID: "iban", Name: "IBAN", Kind: "predefined", det: ibanEntry{}, Keywords: []string{"iban", "bank", "account", "swift", "bic", "transfer"}},
	{ID: "uk_nino", Name: "UK National Insurance number", Kind: "predefined", det: ninoEntry{},
		Keywords: []string{"national insurance", "nino", "ni number", "nin", "hmrc"}},
	num("uk_nhs", "UK NHS number", `\d{3}[ -]?\d{3}[ -]?\d{4}`, matchNHS, 10, nhsCheck,
		"nhs", "nhs number", "nhs no", "health service", "patient"),
	num("au_tfn", "Australian tax file number", `\d{3}[ -]?\d{3}[ -]?\d{3}`, matchTFN, 9, tfnCheck,
		"tfn", "tax file number", "tax file no", "ato"),
	num("th_id", "Thai national ID number", `\d{13}|\d[- ]\d{4}[- ]\d{5}[- ]\d{2}[- ]\d`, matchThaiID, 13, thaiIDCheck,
		"thai", "national id", "id card", "บัตรประชาชน", "เลขประจำตัวประชาชน"),
	num("fr_nir", "French social security number (NIR)", `[1-478] ?\d{2} ?\d{2} ?\d{2} ?\d{3} ?\d{3} ?\d{2}`, matchNIR, 15, nirCheck,
		"sécurité sociale", "securite sociale", "nir", "insee", "numéro de sécu", "carte vitale"),
	{ID: "sg_nric", Name: "Singapore NRIC/FIN", Kind: "predefined", det: letterIDEntry{find: findNRIC},
		Keywords: []string{"nric", "fin", "singapore", "identity card"}},
	{ID: "hk_hkid", Name: "Hong Kong identity card number", Kind: "predefined", det: letterIDEntry{find: findHKID},
		Keywords: []string{"hkid", "hong kong", "identity card", "身份證"}},
	{ID: "tw_id", Name: "Taiwan national ID number", Kind: "predefined", det: letterIDEntry{find: findTaiwanID},
		Keywords: []string{"taiwan", "national id", "身分證", "身分證字號"}},
	{ID: "postal_address", Name: "Postal address (US, UK, EU)", Kind: "predefined", det: addressEntry{},
		Keywords: []string{"address", "ship to", "shipping", "billing", "mailing", "deliver to", "postal",
			"zip code", "postcode", "post code", "residence", "anschrift", "adresse", "wohnort", "postleitzahl",
			"lieferadresse", "domicile", "code postal", "dirección", "direccion", "domicilio", "código postal",
			"indirizzo", "residenza", "recapito", "adres", "woonadres", "bezorgadres"}},
	{ID: "email", Name: "E-mail address", Kind: "predefined", det: emailEntry{},
		Keywords: []string{"email", "e-mail", "mail", "contact"}},
	tok("aws_access_key_id", "AWS access key ID", 4, tokenEntry{trig: []string{"AKIA", "ASIA", "ABIA", "ACCA"},
		re: re(`^A(?:KIA|SIA|BIA|CCA)[A-Z2-7]{16}`), check: tokenCheck(2.5, 4)}, "aws", "access key", "amazon"),
	{ID: "aws_secret_access_key", Name: "AWS secret access key", Kind: "predefined", det: awsSecretEntry{},
		Keywords: []string{"aws", "secret"}},
	tok("gcp_api_key", "Google Cloud API key", 4, tokenEntry{trig: []string{"AIza"},
		re: re(`^AIza[0-9A-Za-z_-]{35}`), check: tokenCheck(3.5, 4)}, "google", "gcp", "api key"),
	tok("azure_client_secret", "Azure client secret", 0, tokenEntry{trig: azureTriggers, back: 3,
		re: re(`^[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}`), check: azureCheck},
		"azure", "client_secret", "client secret", "entra", "aad", "tenant"),
	tok("github_token", "GitHub token", 4, tokenEntry{trig: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re: re(`^(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})`), check: githubCheck}, "github"),
	tok("slack_token", "Slack token", 5, tokenEntry{trig: []string{"xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"},
		re: re(`^xox[abprs]-(?:[0-9]{6,14}-){1,3}[A-Za-z0-9-]{8,64}`), check: tokenCheck(3.0, 5)}, "slack"),
	tok("stripe_secret_key", "Stripe live secret key", 8, tokenEntry{trig: []string{"sk_live_", "rk_live_"},
		re: re(`^[sr]k_live_[0-9A-Za-z]{24,99}`), check: tokenCheck(3.5, 8)}, "stripe"),
	tok("openai_api_key", "OpenAI API key", 3, tokenEntry{trig: []string{"sk-"},
		re: re(`^sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,200}`), check: openAICheck}, "openai", "gpt", "chatgpt"),
	tok("anthropic_api_key", "Anthropic API key", 7, tokenEntry{trig: []string{"sk-ant-"},
		re: re(`^sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{40,120}`), check: tokenCheck(4.0, 14)}, "anthropic", "claude"),
	tok("npm_token", "npm access token", 4, tokenEntry{trig: []string{"npm_"},
		re: re(`^npm_[A-Za-z0-9]{36}`), check: npmCheck}, "npm", "npmrc", "registry"),
	tok("pypi_token", "PyPI upload token", 5, tokenEntry{trig: []string{"pypi-AgEIcHlwaS5vcmc"},
		re: re(`^pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`), check: tokenCheck(3.5, 20)}, "pypi", "twine"),
	tok("private_key", "Private key", 0, tokenEntry{trig: []string{"-----BEGIN "},
		re: pkHeaderRe, check: privateKeyCheck}),
	tok("jwt", "JSON Web Token", 0, tokenEntry{trig: []string{"eyJ"},
		re: re(`^eyJ[A-Za-z0-9_-]{10,}={0,2}\.[A-Za-z0-9_-]{10,}={0,2}\.[A-Za-z0-9_-]*`), check: jwtCheck},
		"bearer", "authorization", "jwt", "token"),
	tok("slack_webhook", "Slack incoming webhook URL", 30, tokenEntry{trig: []string{".slack.com/services/"}, back: 5,
		re: re(`^hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}`), check: webhookCheck(3.5)}, "slack", "webhook"),
	// The trigger is the path (it follows the host), so no left boundary.
	{ID: "discord_webhook", Name: "Discord webhook URL", Kind: "predefined", keepPrefix: 14, Keywords: []string{"discord", "webhook"},
		det: tokenEntry{trig: []string{"/api/webhooks/"}, re: re(`^/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,68}`), check: discordCheck}},
	tok("cloudflare_api_token", "Cloudflare API token", 5, tokenEntry{trig: []string{"cfk_", "cfut_", "cfat_"},
		re: re(`^cf(?:k|ut|at)_[A-Za-z0-9]{40}[0-9a-f]{8}`), check: tokenCheck(3.5, 4)}, "cloudflare", "cf_api"),
	{ID: "url_credentials", Name: "Password in a URL", Kind: "predefined", det: urlCredentialEntry{},
		Keywords: []string{"database_url", "dsn", "connection", "uri", "url"}},
	tok("gitlab_token", "GitLab access token", 6, tokenEntry{trig: []string{"glpat-", "gldt-", "glrt-", "glptt-"},
		re: re(`^gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}`), check: tokenCheck(3.5, 6)}, "gitlab"),
	tok("huggingface_token", "Hugging Face token", 3, tokenEntry{trig: []string{"hf_"},
		re: re(`^hf_[A-Za-z]{34}`), check: tokenCheck(3.8, 3)}, "huggingface", "hugging face"),
	tok("sendgrid_api_key", "SendGrid API key", 3, tokenEntry{trig: []string{"SG."},
		re: re(`^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`), check: tokenCheck(3.5, 3)}, "sendgrid"),
	tok("shopify_token", "Shopify access token", 6, tokenEntry{trig: []string{"shpat_", "shpca_", "shppa_", "shpss_"},
		re: re(`^shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`), check: tokenCheck(3.0, 6)}, "shopify"),
	tok("digitalocean_token", "DigitalOcean token", 7, tokenEntry{trig: []string{"_v1_"}, back: 3,
		re: re(`^do[opr]_v1_[a-f0-9]{64}`), check: tokenCheck(3.0, 7)}, "digitalocean"),
	tok("vault_token", "HashiCorp Vault token", 4, tokenEntry{trig: []string{"hvs.", "hvb."},
		re: re(`^hv[sb]\.[A-Za-z0-9_-]{90,}`), check: tokenCheck(4.0, 4)}, "vault"),
	tok("google_oauth_client_secret", "Google OAuth client secret", 7, tokenEntry{trig: []string{"GOCSPX-"},
		re: re(`^GOCSPX-[A-Za-z0-9_-]{28}`), check: tokenCheck(3.5, 7)}, "google", "oauth", "client_secret"),
	tok("postman_api_key", "Postman API key", 5, tokenEntry{trig: []string{"PMAK-"},
		re: re(`^PMAK-[a-f0-9]{24}-[a-f0-9]{34}`), check: tokenCheck(3.0, 5)}, "postman"),
	tok("linear_api_key", "Linear API key", 8, tokenEntry{trig: []string{"_api_"}, back: 3,
		re: re(`^lin_api_[A-Za-z0-9]{40}`), check: tokenCheck(3.8, 8)}, "linear"),
	tok("atlassian_api_token", "Atlassian API token", 5, tokenEntry{trig: []string{"ATATT"},
		re: re(`^ATATT[A-Za-z0-9_=-]{100,260}`), check: tokenCheck(4.0, 5)}, "atlassian", "jira", "confluence"),
	tok("doppler_token", "Doppler token", 6, tokenEntry{trig: []string{"dp.pt.", "dp.st.", "dp.sa.", "dp.ct."},
		re: re(`^dp\.(?:pt|st|sa|ct)\.[A-Za-z0-9]{40,44}`), check: tokenCheck(3.8, 6)}, "doppler"),
	{ID: recordEntryID, Name: "PII record (three kinds of personal data together)", Kind: "predefined", det: piiRecordEntry{}},
	{ID: "generic_secret", Name: "Generic secret (keyword and entropy)", Kind: "predefined", det: genericSecretEntry{}},
	{ID: "source_code", Name: "Source code", Kind: "predefined", det: sourceCodeEntry{}},
}

var predefinedByID = func() map[string]*Entry {
	m := map[string]*Entry{}
	for _, e := range predefinedEntries {
		if m[e.ID] != nil {
			panic("dlp: duplicate entry " + e.ID)
		}
		m[e.ID] = e
	}
	return m
}()

// PredefinedEntries returns every predefined entry, sorted by ID.
func PredefinedEntries() []*Entry {
	out := append([]*Entry(nil), predefinedEntries...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PredefinedEntry returns the predefined entry with the given ID.
func PredefinedEntry(id string) (*Entry, error) {
	e, ok := predefinedByID[id]
	if !ok {
		return nil, fmt.Errorf("dlp: no predefined entry %q", id)
	}
	return e, nil
}
