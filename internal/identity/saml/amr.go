package saml

import (
	"slices"
	"strings"
)

// msAuthnMethodsReferences is the attribute in which AD FS and Entra ID list how the user
// authenticated (e.g. http://schemas.microsoft.com/claims/multipleauthn).
const msAuthnMethodsReferences = "http://schemas.microsoft.com/claims/authnmethodsreferences"

// authnContextAMR maps SAML authentication context classes (and the vendor URIs seen in
// practice) to RFC 8176 authentication method references.
var authnContextAMR = map[string][]string{
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Password":                                {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport":              {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:InternetProtocolPassword":                {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SecureRemotePassword":                    {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:X509":                                    {"hwk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SoftwarePKI":                             {"swk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard":                               {"sc"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI":                            {"sc", "hwk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken":                           {"otp"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileOneFactorContract":                 {"swk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract":                 {"mfa"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered":             {"mfa"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos":                                {"wia"},
	"urn:federation:authentication:windows":                                          {"wia"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows":  {"wia"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password": {"pwd"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/x509":     {"hwk"},
	"http://schemas.microsoft.com/claims/multipleauthn":                              {"mfa"},
	"http://schemas.microsoft.com/claims/multipipelineauthn":                         {"mfa"},
	"https://refeds.org/profile/mfa":                                                 {"mfa"},
	"http://id.incommon.org/assurance/mfa":                                           {"mfa"},
}

// amrFor returns the AMR values for the assertion's AuthnContextClassRefs and, for AD FS and
// Entra ID, the authnmethodsreferences attribute. Unknown references containing "mfa",
// "multifactor" or "twofactor" count as mfa; others are dropped.
func amrFor(classRefs, msRefs []string) []string {
	var out []string
	for _, ref := range slices.Concat(classRefs, msRefs) {
		vs, ok := authnContextAMR[ref]
		if !ok {
			l := strings.ToLower(ref)
			if strings.Contains(l, "mfa") || strings.Contains(l, "multifactor") || strings.Contains(l, "twofactor") ||
				strings.Contains(l, "multi-factor") || strings.Contains(l, "two-factor") {
				vs = []string{"mfa"}
			}
		}
		for _, v := range vs {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
