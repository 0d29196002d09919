package gateway

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// BenchmarkDecideRequest is the policy work of one request: the application lookup, the rule
// input and the request-phase evaluation with five rules.
func BenchmarkDecideRequest(b *testing.B) {
	pol := testPolicy(b, policyRules)
	r := httptest.NewRequest("POST", "https://chatgpt.com/backend-api/conversation?x=1", nil)
	id := &Identity{ServiceTokenID: "ci", ClientIP: netip.MustParseAddr("10.0.0.1"), Location: "hq"}
	d := Destination{Host: "chatgpt.com", Port: 443}
	dst := netip.MustParseAddr("104.18.32.47")
	site := fullURL("https", d, r)
	b.ReportAllocs()
	for b.Loop() {
		st := getEvalState()
		st.fillConnect(pol, id, d, dst)
		st.fillRequest(pol, r, site)
		_ = st.category(pol)
		dec := pol.Rules.EvaluateRequest(&st.in)
		if dec.RuleID() != "tenant" {
			b.Fatalf("decided by %q", dec.RuleID())
		}
		putEvalState(st)
	}
}
