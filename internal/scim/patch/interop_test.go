package patch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scim/filter"
)

// TestInteropSCIMCrossCheck compares package filter and package patch with independent npm
// implementations (interop/scim-crosscheck: scim2-parse-filter, scimmy, scim-patch) on cases
// generated from a small grammar with a fixed seed.
//
// Compared strictly (the test fails on a difference):
//   - every generated filter parses in both Parse and scim2-parse-filter to the same tree, after
//     normalising both to scim2-parse-filter's shape (n-ary and/or, numbers as float64);
//   - Match and scim2-parse-filter's evaluator agree on three resources, run with every
//     attribute caseExact. Known, justified differences are excluded: scim2-parse-filter
//     compares values case-sensitively (SCIM's default is caseExact false, RFC 7643 §2.4), and
//     its "ne" is "some value differs" and false for a missing attribute, where ours is the
//     negation of "eq" (so that "ne" equals "not (eq)" and agrees with the SQL ToSQL emits);
//     filters with "ne" are therefore compared on parsing only. scim2-parse-filter also keeps
//     JSON escapes in string values undecoded ("\u0026" stays six characters; RFC 7644 says
//     the value is a JSON string), so its values are decoded before comparing trees and
//     filters with escapes are compared on parsing only; and it evaluates a value path's
//     filter against the whole array rather than each value, so emails[type eq "work" and
//     value co "x"] matches when two different e-mails satisfy one clause each (a bug for
//     RFC 7644's "a single value must satisfy the whole filter"): value paths containing
//     "and" or "not" are compared on parsing only;
//   - patch results equal scim-patch's, after dropping "meta" and "schemas" (we list the
//     enterprise extension in "schemas" when we create it, RFC 7643 §3; scim-patch does not:
//     checked separately as an invariant), except for documented cases: a pathless add with a
//     complex value (e.g. {"name":{"formatted":"F"}}) merges sub-attributes in ours, like an add
//     with path "name" (RFC 7644 §3.5.2.1), where scim-patch replaces the complex attribute;
//     those attributes are compared separately.
//
// Reported, not enforced: scimmy's acceptance and matches (scimmy rejects some valid filters,
// e.g. a value path inside parentheses, and compares strings case-sensitively), and the
// acceptance of mutated (mostly invalid) filters, where scim2-parse-filter is more lenient.
func TestInteropSCIMCrossCheck(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "interop", "scim-crosscheck"))
	if err != nil {
		t.Fatal(err)
	}
	node, nodeErr := exec.LookPath("node")
	_, libErr := os.Stat(filepath.Join(dir, "node_modules", "scim2-parse-filter", "package.json"))
	if nodeErr != nil || libErr != nil {
		msg := "SKIPPING SCIM cross-check against npm peers: run interop/install-scim.sh (needs node 20+ and npm)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	rng := rand.New(rand.NewPCG(20260517, 7))
	resources := crossResources()
	type filterCase struct {
		Filter    string           `json:"filter"`
		Resources []map[string]any `json:"resources"`
	}
	type patchCase struct {
		Resource   map[string]any   `json:"resource"`
		Operations []map[string]any `json:"operations"`
	}
	var req struct {
		Filters []filterCase `json:"filters"`
		Patches []patchCase  `json:"patches"`
	}
	const nValid, nMutated, nPatches = 300, 100, 300
	for range nValid {
		req.Filters = append(req.Filters, filterCase{Filter: genFilter(rng, 0, false), Resources: resources})
	}
	for range nMutated {
		req.Filters = append(req.Filters, filterCase{Filter: mutate(rng, genFilter(rng, 0, false)), Resources: resources})
	}
	for range nPatches {
		req.Patches = append(req.Patches, patchCase{Resource: resources[rng.IntN(len(resources))], Operations: genOps(rng)})
	}

	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "crosscheck.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crosscheck.js: %v\n%s", err, stderr.String())
	}
	var res struct {
		Filters []struct {
			P2F struct {
				OK      bool   `json:"ok"`
				AST     any    `json:"ast"`
				Matches []bool `json:"matches"`
			} `json:"p2f"`
			Scimmy struct {
				OK      bool   `json:"ok"`
				Matches []bool `json:"matches"`
			} `json:"scimmy"`
		} `json:"filters"`
		Patches []struct {
			OK     bool           `json:"ok"`
			Result map[string]any `json:"result"`
			Error  struct {
				Message  string `json:"message"`
				ScimType string `json:"scimType"`
			} `json:"error"`
		} `json:"patches"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("crosscheck.js output: %v", err)
	}
	if len(res.Filters) != len(req.Filters) || len(res.Patches) != len(req.Patches) {
		t.Fatalf("crosscheck.js answered %d/%d cases", len(res.Filters)+len(res.Patches), len(req.Filters)+len(req.Patches))
	}

	allExact := filter.CaseExactFunc(func(filter.Path) bool { return true })
	var astOK, matchCompared, scimmyParsed, scimmyAgree, scimmyCompared int
	for i, fc := range req.Filters[:nValid] {
		r := res.Filters[i]
		e, err := filter.Parse(fc.Filter)
		if err != nil {
			t.Errorf("generated filter %q: Parse: %v", fc.Filter, err)
			continue
		}
		if !r.P2F.OK {
			t.Errorf("generated filter %q: scim2-parse-filter rejects it", fc.Filter)
			continue
		}
		if got, want := normalise(toP2F(e)), normalise(r.P2F.AST); !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("filter %q: trees differ\nours %s\np2f  %s", fc.Filter, g, w)
			continue
		}
		astOK++
		hasNe := strings.Contains(strings.ToLower(e.String()), " ne ") || strings.Contains(fc.Filter, `\`) || valuePathWithAndNot(e)
		for j, resource := range fc.Resources {
			ours := filter.Match(e, resource, allExact)
			if !hasNe {
				matchCompared++
				if ours != r.P2F.Matches[j] {
					t.Errorf("filter %q on resource %d: Match = %v, scim2-parse-filter = %v", fc.Filter, j, ours, r.P2F.Matches[j])
				}
			}
			if r.Scimmy.OK && !hasNe {
				scimmyCompared++
				if ours == r.Scimmy.Matches[j] {
					scimmyAgree++
				}
			}
		}
		if r.Scimmy.OK {
			scimmyParsed++
		}
	}
	var mutatedAgree, oursOnly, p2fOnly int
	var oursOnlyExamples []string
	for i, fc := range req.Filters[nValid:] {
		_, err := filter.Parse(fc.Filter)
		p2fOK := res.Filters[nValid+i].P2F.OK
		switch {
		case (err == nil) == p2fOK:
			mutatedAgree++
		case err == nil:
			oursOnly++
			oursOnlyExamples = append(oursOnlyExamples, fc.Filter)
		default:
			p2fOnly++
		}
	}
	t.Logf("filters: %d/%d trees equal to scim2-parse-filter's, %d matches compared", astOK, nValid, matchCompared)
	t.Logf("scimmy: parsed %d/%d valid filters, agreed on %d/%d matches (scimmy compares case-sensitively and lacks some grouping)", scimmyParsed, nValid, scimmyAgree, scimmyCompared)
	t.Logf("mutated filters: %d/%d same acceptance; accepted only by us %d, only by scim2-parse-filter %d", mutatedAgree, nMutated, oursOnly, p2fOnly)
	if len(oursOnlyExamples) > 0 {
		t.Logf("accepted only by us (e.g.): %q", oursOnlyExamples[:min(3, len(oursOnlyExamples))])
	}

	var patchSame, patchBothErr, patchKnown, patchNoTarget int
	for i, pc := range req.Patches {
		r := res.Patches[i]
		ops := make([]Operation, len(pc.Operations))
		for j, o := range pc.Operations {
			ops[j] = Operation{Op: strings.ToLower(o["op"].(string)), Value: o["value"]}
			if p, ok := o["path"].(string); ok {
				ops[j].Path = p
			}
		}
		got, err := Apply(pc.Resource, ops, UserSchema)
		desc, _ := json.Marshal(pc.Operations)
		switch {
		case err != nil && !r.OK:
			patchBothErr++
		case err != nil:
			if known := knownPatchDifference(err, pc.Operations); known != "" {
				patchNoTarget++
				continue
			}
			t.Errorf("patch %s: we fail (%v), scim-patch succeeds", desc, err)
		case !r.OK:
			t.Errorf("patch %s: we succeed, scim-patch fails: %s", desc, r.Error.Message)
		default:
			if _, hasExt := got[entURN]; hasExt {
				if schemas, _ := got["schemas"].([]any); !slices.Contains(schemas, any(entURN)) {
					t.Errorf("patch %s: extension present but not listed in schemas: %v", desc, schemas)
				}
			}
			g, w := dropMeta(got), dropMeta(r.Result)
			if skip := pathlessComplex(pc.Operations); len(skip) > 0 {
				for _, k := range skip {
					delete(g, k)
					delete(w, k)
				}
				patchKnown++
			}
			if !reflect.DeepEqual(g, w) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				t.Errorf("patch %s:\nours       %s\nscim-patch %s", desc, gj, wj)
				continue
			}
			patchSame++
		}
	}
	t.Logf("patches: %d/%d identical results (%d of them after excluding attributes set by a pathless complex add), %d rejected by both, %d deliberate noTarget", patchSame, nPatches, patchKnown, patchBothErr, patchNoTarget)
}

// knownPatchDifference names the documented cases where we deliberately fail and scim-patch
// does not: replace through a value filter that matches nothing on an attribute that has
// values is noTarget (RFC 7644 §3.5.2.3), which scim-patch turns into an add.
func knownPatchDifference(err error, ops []map[string]any) string {
	pe, ok := err.(*Error)
	if !ok {
		return ""
	}
	if pe.ScimType == ScimTypeNoTarget {
		for _, o := range ops {
			if p, _ := o["path"].(string); strings.Contains(p, "[") && o["op"] == "replace" {
				return "replace-filter-no-match"
			}
		}
	}
	return ""
}

// pathlessComplex lists the complex attributes set by pathless adds (see the test's doc).
func pathlessComplex(ops []map[string]any) []string {
	var keys []string
	for _, o := range ops {
		if v, ok := o["value"].(map[string]any); ok && o["path"] == nil && o["op"] == "add" {
			for k, x := range v {
				if _, ok := x.(map[string]any); ok {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

func dropMeta(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "meta" && k != "schemas" {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	var norm map[string]any
	_ = json.Unmarshal(b, &norm)
	return norm
}

func crossResources() []map[string]any {
	var rs []map[string]any
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "id":"u1","userName":"alice@example.com","displayName":"Alice Smith","title":"Engineer","active":true,"loginCount":3,
		  "name":{"givenName":"Alice","familyName":"Smith"},
		  "emails":[{"value":"alice@example.com","type":"work","primary":true},{"value":"al@home.org","type":"home"}],
		  "meta":{"resourceType":"User","lastModified":"2024-03-01T10:00:00Z"},
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"1001"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		  "id":"u2","userName":"bob@example.org","displayName":"Bob Jones","active":false,"loginCount":12,
		  "name":{"givenName":"Bob","familyName":"Jones"},
		  "emails":[{"value":"bob@example.org","type":"work"}],
		  "meta":{"resourceType":"User","lastModified":"2023-11-20T08:30:00Z"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "id":"u3","userName":"carol@example.com","title":"Manager","active":true,"loginCount":7,
		  "name":{"givenName":"Carol","familyName":"Smith-Jones"},
		  "emails":[{"value":"carol@home.org","type":"home","primary":true}],
		  "meta":{"resourceType":"User","lastModified":"2024-07-15T23:59:59Z"},
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			panic(err)
		}
		rs = append(rs, m)
	}
	return rs
}

const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

var (
	stringAttrs = []string{"userName", "displayName", "title", "name.givenName", "name.familyName", "emails.value", "emails.type", "USERNAME", entURN + ":department", entURN + ":employeeNumber"}
	stringVals  = []string{"alice@example.com", "Alice", "Smith", "example", ".org", "work", "home", "Engineer", "R&D", "1001", "bob", "Jones", "b", "zzz", `a"b`, `back\slash`, "Sales"}
	stringOps   = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
	numOps      = []string{"eq", "ne", "gt", "ge", "lt", "le"}
	dates       = []string{"2024-03-01T10:00:00Z", "2023-01-01T00:00:00Z", "2024-07-15T23:59:59Z"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// randCase varies the case of keywords and operators, which SCIM treats case-insensitively.
func randCase(rng *rand.Rand, s string) string {
	switch rng.IntN(4) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func genAttrExp(rng *rand.Rand, inValue bool) string {
	if inValue {
		switch rng.IntN(3) {
		case 0:
			return "type " + randCase(rng, "eq") + " " + quoteJSON(pick(rng, []string{"work", "home", "other"}))
		case 1:
			return "value " + randCase(rng, pick(rng, []string{"co", "sw", "ew", "eq"})) + " " + quoteJSON(pick(rng, stringVals))
		}
		return "primary " + randCase(rng, "pr")
	}
	switch rng.IntN(10) {
	case 0:
		return pick(rng, stringAttrs) + " " + randCase(rng, "pr")
	case 1:
		return "active " + randCase(rng, pick(rng, []string{"eq", "ne"})) + " " + pick(rng, []string{"true", "false"})
	case 2:
		return "loginCount " + randCase(rng, pick(rng, numOps)) + " " + pick(rng, []string{"3", "7", "10", "2.5"})
	case 3:
		return "meta.lastModified " + randCase(rng, pick(rng, []string{"gt", "ge", "lt", "le", "eq"})) + " " + quoteJSON(pick(rng, dates))
	case 4:
		return "emails[" + genFilter(rng, 2, true) + "]"
	}
	return pick(rng, stringAttrs) + " " + randCase(rng, pick(rng, stringOps)) + " " + quoteJSON(pick(rng, stringVals))
}

func genFilter(rng *rand.Rand, depth int, inValue bool) string {
	if depth >= 3 {
		return genAttrExp(rng, inValue)
	}
	switch rng.IntN(7) {
	case 0:
		return genFilter(rng, depth+1, inValue) + " " + randCase(rng, "and") + " " + genFilter(rng, depth+1, inValue)
	case 1:
		return genFilter(rng, depth+1, inValue) + " " + randCase(rng, "or") + " " + genFilter(rng, depth+1, inValue)
	case 2:
		return randCase(rng, "not") + " (" + genFilter(rng, depth+1, inValue) + ")"
	case 3:
		return "(" + genFilter(rng, depth+1, inValue) + ")"
	}
	return genAttrExp(rng, inValue)
}

func mutate(rng *rand.Rand, s string) string {
	switch rng.IntN(5) {
	case 0:
		return s[:rng.IntN(len(s))]
	case 1:
		i := rng.IntN(len(s))
		return s[:i] + pick(rng, []string{"(", ")", "[", "]", `"`, " and ", " or", "not ", " eq ", "'", ";"}) + s[i:]
	case 2:
		f := strings.Fields(s)
		i := rng.IntN(len(f))
		return strings.Join(append(f[:i:i], f[i+1:]...), " ")
	case 3:
		return strings.Replace(s, " ", "", 1)
	}
	return s + " " + pick(rng, []string{"and", "or", "pr", "eq 1", ")"})
}

func valuePathWithAndNot(e filter.Expr) bool {
	switch x := e.(type) {
	case filter.And:
		return valuePathWithAndNot(x.L) || valuePathWithAndNot(x.R)
	case filter.Or:
		return valuePathWithAndNot(x.L) || valuePathWithAndNot(x.R)
	case filter.Not:
		return valuePathWithAndNot(x.X)
	case filter.ValuePath:
		s := strings.ToLower(x.Filter.String())
		return strings.Contains(s, " and ") || strings.Contains(s, "not (")
	}
	return false
}

// toP2F converts a filter tree to scim2-parse-filter's AST shape.
func toP2F(e filter.Expr) any {
	switch x := e.(type) {
	case filter.Compare:
		return map[string]any{"op": x.Op, "attrPath": x.Path.String(), "compValue": x.Value}
	case filter.Present:
		return map[string]any{"op": "pr", "attrPath": x.Path.String()}
	case filter.And:
		return map[string]any{"op": "and", "filters": []any{toP2F(x.L), toP2F(x.R)}}
	case filter.Or:
		return map[string]any{"op": "or", "filters": []any{toP2F(x.L), toP2F(x.R)}}
	case filter.Not:
		return map[string]any{"op": "not", "filter": toP2F(x.X)}
	case filter.ValuePath:
		return map[string]any{"op": "[]", "attrPath": x.Path.String(), "valFilter": toP2F(x.Filter)}
	}
	panic(fmt.Sprintf("unexpected %T", e))
}

// normalise round-trips through JSON (numbers become float64), lower-cases operators and
// flattens nested and/or of the same kind.
func normalise(v any) any {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	return flattenP2F(x)
}

func flattenP2F(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	op, _ := m["op"].(string)
	op = strings.ToLower(op)
	out := map[string]any{}
	for k, x := range m {
		out[k] = x
	}
	out["op"] = op
	if s, ok := m["compValue"].(string); ok && strings.Contains(s, `\`) {
		// scim2-parse-filter keeps JSON escapes undecoded.
		var dec string
		if json.Unmarshal([]byte(`"`+s+`"`), &dec) == nil {
			out["compValue"] = dec
		}
	}
	if f, ok := m["filter"]; ok {
		out["filter"] = flattenP2F(f)
	}
	if f, ok := m["valFilter"]; ok {
		out["valFilter"] = flattenP2F(f)
	}
	if fs, ok := m["filters"].([]any); ok {
		var flat []any
		for _, f := range fs {
			f = flattenP2F(f)
			if fm, ok := f.(map[string]any); ok && fm["op"] == op {
				flat = append(flat, fm["filters"].([]any)...)
				continue
			}
			flat = append(flat, f)
		}
		out["filters"] = flat
	}
	return out
}

func genOps(rng *rand.Rand) []map[string]any {
	n := 1 + rng.IntN(3)
	var ops []map[string]any
	for range n {
		var op map[string]any
		switch rng.IntN(10) {
		case 0:
			op = map[string]any{"op": "replace", "path": pick(rng, []string{"userName", "displayName", "title", "nickName"}), "value": pick(rng, stringVals)}
		case 1:
			op = map[string]any{"op": "replace", "path": "active", "value": rng.IntN(2) == 0}
		case 2:
			op = map[string]any{"op": pick(rng, []string{"add", "replace"}), "path": pick(rng, []string{"name.givenName", "name.familyName", "name.middleName"}), "value": pick(rng, stringVals)}
		case 3:
			op = map[string]any{"op": "add", "path": "emails", "value": []any{map[string]any{"value": fmt.Sprintf("new%d@example.net", rng.IntN(100)), "type": "other"}}}
		case 4:
			op = map[string]any{"op": "replace", "path": `emails[type eq "` + pick(rng, []string{"work", "home"}) + `"].value`, "value": fmt.Sprintf("x%d@example.net", rng.IntN(100))}
		case 5:
			op = map[string]any{"op": "remove", "path": pick(rng, []string{"title", "displayName", "name.givenName", "emails"})}
		case 6:
			op = map[string]any{"op": "replace", "value": map[string]any{"displayName": pick(rng, stringVals), "active": rng.IntN(2) == 0}}
		case 7:
			op = map[string]any{"op": "add", "path": entURN + ":" + pick(rng, []string{"department", "costCenter"}), "value": pick(rng, stringVals)}
		case 8:
			op = map[string]any{"op": "add", "value": map[string]any{"title": pick(rng, stringVals), "name": map[string]any{"formatted": "F"}}}
		default:
			op = map[string]any{"op": "replace", "path": "name", "value": map[string]any{"familyName": pick(rng, stringVals)}}
		}
		ops = append(ops, op)
	}
	return ops
}
