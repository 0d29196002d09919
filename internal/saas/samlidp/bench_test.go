package samlidp

import (
	"testing"
	"time"
)

// BenchmarkSignAssertion builds and signs one Response and its Assertion (two RSA-2048
// signatures, exclusive C14N) for the test user with the default attributes and two custom
// ones, as the SSO endpoint does per login. Run with -cpu 1 for the per-core rate, reported as
// assertions/s.
func BenchmarkSignAssertion(b *testing.B) {
	km, err := sharedKeys()
	if err != nil {
		b.Fatal(err)
	}
	id := testIdentity()
	sa := defaultSaaS()
	sa.CustomAttributes = trickyCustom()
	id.SAMLAttributes["tricky"] = []string{`<&"'>`, "plain"}
	now := newClock().Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		attrs, err := attributes(id, sa)
		if err != nil {
			b.Fatal(err)
		}
		nid, err := subjectNameID(id, sa.NameIDFormat)
		if err != nil {
			b.Fatal(err)
		}
		signer, cert, err := signingKey(km)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildResponse(&responseParams{
			IssuerID: testSSO, Audience: testSP, ACS: testACS, InResponseTo: "_req-1",
			NameID: nid, Attributes: attrs, AMR: id.AMR, SessionIndex: sessionIndex("sess-1"),
			AuthnInstant: now.Add(-time.Hour), SessionNotOnOrAfter: now.Add(time.Hour), Now: now,
			Signer: signer, Cert: cert,
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assertions/s")
}
