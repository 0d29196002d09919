package dlp

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Profile is a named set of entries with the settings of gateway-ai-spec
// §3.3. A profile matches when more than AllowedMatchCount findings at or
// above ConfidenceThreshold (documentation examples excluded) occur.
// A Profile must not be modified after its first use in a scan.
type Profile struct {
	Name                string
	Entries             []*Entry
	AllowedMatchCount   int
	ConfidenceThreshold Confidence

	once sync.Once
	plan *plan
}

// NewProfile builds a profile from entries.
func NewProfile(name string, threshold Confidence, allowed int, entries ...*Entry) *Profile {
	return &Profile{Name: name, Entries: entries, ConfidenceThreshold: threshold, AllowedMatchCount: allowed}
}

func mustEntries(ids ...string) []*Entry {
	out := make([]*Entry, len(ids))
	for i, id := range ids {
		e, err := PredefinedEntry(id)
		if err != nil {
			panic(err)
		}
		out[i] = e
	}
	return out
}

// Names of the predefined profiles.
const (
	ProfileFinancial   = "Financial Information"
	ProfileNationalIDs = "National Identifiers"
	ProfileCredentials = "Credentials and Secrets"
	ProfileSourceCode  = "Source Code"
	ProfilePII         = "PII"
	ProfileAll         = "All Predefined"
)

var predefinedProfileEntries = map[string][]string{
	ProfileFinancial:   {"payment_card", "iban", "us_aba_routing"},
	ProfileNationalIDs: {"us_ssn", "uk_nino", "ca_sin", "uk_nhs", "au_tfn", "th_id", "fr_nir", "sg_nric", "hk_hkid", "tw_id"},
	ProfileCredentials: {"aws_access_key_id", "aws_secret_access_key", "gcp_api_key", "azure_client_secret",
		"github_token", "slack_token", "stripe_secret_key", "openai_api_key", "anthropic_api_key", "npm_token",
		"pypi_token", "private_key", "jwt", "slack_webhook", "discord_webhook", "cloudflare_api_token", "url_credentials",
		"gitlab_token", "huggingface_token", "sendgrid_api_key", "shopify_token", "digitalocean_token", "vault_token",
		"google_oauth_client_secret", "postman_api_key", "linear_api_key", "atlassian_api_token", "doppler_token",
		"generic_secret"},
	ProfileSourceCode: {"source_code"},
	ProfilePII:        {"email", "phone", "postal_address", "us_ssn", "uk_nino", "ca_sin", "payment_card", "pii_record"},
}

// PredefinedProfile returns a fresh copy of a predefined profile by name
// (case-insensitive; "all" selects every predefined entry). Its threshold
// is Low and its allowed match count 0, the Cloudflare defaults.
func PredefinedProfile(name string) (*Profile, error) {
	if strings.EqualFold(name, ProfileAll) || strings.EqualFold(name, "all") {
		return NewProfile(ProfileAll, Low, 0, predefinedEntries...), nil
	}
	for n, ids := range predefinedProfileEntries {
		if strings.EqualFold(n, name) {
			return NewProfile(n, Low, 0, mustEntries(ids...)...), nil
		}
	}
	return nil, fmt.Errorf("dlp: no predefined profile %q", name)
}

// PredefinedProfileNames lists the predefined profile names.
func PredefinedProfileNames() []string {
	out := []string{ProfileAll}
	for n := range predefinedProfileEntries {
		out = append(out, n)
	}
	sort.Strings(out[1:])
	return out
}

// ProfileID is the id rules use for a profile name: lower case, each run of characters other
// than letters and digits replaced by one underscore, none at either end ("Credentials and
// Secrets" → "credentials_and_secrets", "AI Prompt: PII" → "ai_prompt_pii").
func ProfileID(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	return b.String()
}
