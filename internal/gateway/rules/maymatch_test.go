package rules

import "testing"

func TestMayMatch(t *testing.T) {
	p, err := Compile([]Rule{
		{ID: "ai-pii", Precedence: 1, Enabled: true, Action: "block", Traffic: `any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in {"pii"})`},
		{ID: "eng-zip", Precedence: 2, Enabled: true, Action: "block", Traffic: `any(http.upload.file.types[*] == "zip")`, Identity: `any(identity.groups[*].name == "Interns")`},
		{ID: "not-clean", Precedence: 3, Enabled: true, Action: "block", Traffic: `http.request.host == "paste.example" and not(any(dlp.profiles[*] == "none"))`},
		{ID: "download-5xx", Precedence: 4, Enabled: true, Action: "block", Traffic: `http.body_phase == "download" and http.response.status_code >= 500`},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    Input
		known Phase
		want  bool
	}{
		{"not AI, no intern, other host", Input{Host: "example.com", AppTypeIDs: []int{3}}, PhaseRequest, true}, // download-5xx: response unknown
		{"not AI, no intern, other host, response known", Input{Host: "example.com", AppTypeIDs: []int{3}, ResponseStatus: 200}, PhaseResponse, false},
		{"AI", Input{Host: "example.com", AppTypeIDs: []int{25}, ResponseStatus: 200}, PhaseResponse, true},
		{"intern", Input{Host: "example.com", GroupNames: []string{"Interns"}, ResponseStatus: 200}, PhaseResponse, true},
		{"negated body field is unknown too", Input{Host: "paste.example", ResponseStatus: 200}, PhaseResponse, true},
		{"everything known", Input{Host: "example.com", AppTypeIDs: []int{25}, ResponseStatus: 200}, PhaseBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.MayMatch(PhaseBody, tt.known, &tt.in); got != tt.want {
				t.Errorf("MayMatch = %v, want %v", got, tt.want)
			}
		})
	}
	in := &Input{Host: "example.com", AppTypeIDs: []int{3}, ResponseStatus: 200}
	if n := testing.AllocsPerRun(100, func() { p.MayMatch(PhaseBody, PhaseResponse, in) }); n != 0 && !raceEnabled {
		t.Errorf("MayMatch allocates %v times", n)
	}
}

// checkMayMatchSound: whenever an expression is definitely false or true with only the fields up
// to a phase, it is so whatever the later fields hold (here: those of several inputs).
func checkMayMatchSound(t *testing.T, src string) {
	x, err := CompileExpr(src, refLists)
	if err != nil {
		return
	}
	inputs := refInputs(src)
	for _, known := range []Phase{PhaseConnect, PhaseRequest, PhaseResponse, PhaseBody} {
		for i, in := range inputs {
			v := x.root.eval3(in, known)
			if known == PhaseBody && v == triUnknown {
				t.Fatalf("%s: unknown with every field known", src)
			}
			if v == triUnknown {
				continue
			}
			// Replace the later fields with another input's: the verdict must hold.
			for j, other := range inputs {
				mixed := *other
				copyUpTo(&mixed, in, known)
				if got := x.Match(&mixed); triOf(got) != v {
					t.Fatalf("%s: eval3 through %s on input %d is %v, but with input %d's later fields Match is %v", src, known, i, v, j, got)
				}
			}
		}
	}
}

// copyUpTo copies the fields of phases up to known from src to dst.
func copyUpTo(dst, src *Input, known Phase) {
	d := *src
	if known < PhaseRequest {
		d.URL, d.Path, d.PathAndQuery, d.Query, d.Method, d.AppControls, d.UploadMime = dst.URL, dst.Path, dst.PathAndQuery, dst.Query, dst.Method, dst.AppControls, dst.UploadMime
	}
	if known < PhaseResponse {
		d.ResponseStatus = dst.ResponseStatus
	}
	if known < PhaseBody {
		d.BodyPhase, d.UploadFileTypes, d.UploadFileSize, d.DLPProfiles = dst.BodyPhase, dst.UploadFileTypes, dst.UploadFileSize, dst.DLPProfiles
	}
	*dst = d
}

func TestMayMatchSound(t *testing.T) {
	for _, src := range []string{
		`any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in {"pii"})`,
		`http.request.host == "chat.openai.com" or http.upload.file.size > 1`,
		`not(http.request.method == "POST" xor http.body_phase == "upload")`,
		`http.response.status_code == 0 and http.conn.src_ip in $nets`,
	} {
		checkMayMatchSound(t, src)
	}
}

func FuzzMayMatch(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(checkMayMatchSound)
}
