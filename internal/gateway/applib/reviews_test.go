package applib

import (
	"errors"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]Status{
		"approved": StatusApproved, "Unapproved": StatusUnapproved, "in review": StatusInReview,
		"in_review": StatusInReview, "IN-REVIEW": StatusInReview, " unreviewed ": StatusUnreviewed,
	} {
		got, err := ParseStatus(in)
		if err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ok", "allowed", "inreview", "review", "approved!"} {
		if _, err := ParseStatus(in); err == nil {
			t.Errorf("ParseStatus(%q) succeeded", in)
		}
	}
	if err := Status("in_review").Validate(); err == nil {
		t.Error(`Status("in_review").Validate() succeeded; only the API spelling is valid`)
	}
	if err := StatusInReview.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseReviews(t *testing.T) {
	c := mustDefault(t)
	rs, err := ParseReviews(c, Reviews{"ChatGPT": "unapproved", "claude": "approved", "90005": "in review", "1199": "unapproved"})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]Status{1199: StatusUnapproved, 90003: StatusApproved, 90005: StatusInReview, 90001: StatusUnreviewed} {
		if got := rs.Status(id); got != want {
			t.Errorf("status of %d = %q, want %q", id, got, want)
		}
	}
	if got := ReviewSet(nil).Status(1199); got != StatusUnreviewed {
		t.Errorf("nil ReviewSet status = %q, want unreviewed", got)
	}

	tests := []struct {
		in   Reviews
		want []string // substrings of the joined error, in order
	}{
		{Reviews{"ChatGTP": "approved"}, []string{`app_reviews["ChatGTP"]: unknown application "ChatGTP"; did you mean "ChatGPT"?`}},
		{Reviews{"Perplexity AI": "approved"}, []string{`did you mean "Perplexity"`}},
		{Reviews{"Claud": "approved"}, []string{`did you mean "Claude"`}},
		{Reviews{"zzzzqqqq": "approved"}, []string{`unknown application "zzzzqqqq"`}},
		{Reviews{"424242": "approved"}, []string{"no application has id 424242"}},
		{Reviews{"ChatGPT": "allowed"}, []string{`app_reviews["ChatGPT"]: unknown review status "allowed"`}},
		{Reviews{"ChatGPT": "approved", "1199": "unapproved"}, []string{`app_reviews["ChatGPT"]: ChatGPT (app 1199) is already "unapproved" through "1199"`}},
		{Reviews{"b-unknown-app": "approved", "a-unknown-app": "nope"}, []string{`"a-unknown-app"`, `"b-unknown-app"`}},
	}
	for _, tt := range tests {
		_, err := ParseReviews(c, tt.in)
		if err == nil {
			t.Errorf("ParseReviews(%v) succeeded", tt.in)
			continue
		}
		msg := err.Error()
		pos := 0
		for _, w := range tt.want {
			i := strings.Index(msg[pos:], w)
			if i < 0 {
				t.Errorf("ParseReviews(%v) error %q does not contain %q (in order)", tt.in, msg, w)
				break
			}
			pos += i + len(w)
		}
		var re *ReviewError
		if !errors.As(err, &re) {
			t.Errorf("ParseReviews(%v) error is not a *ReviewError", tt.in)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"approved", "in review", "In_Review", "", "unreviewed\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStatus(s)
		if err != nil {
			return
		}
		if st.Validate() != nil {
			t.Fatalf("ParseStatus(%q) = %q, which does not validate", s, st)
		}
		if again, err := ParseStatus(string(st)); err != nil || again != st {
			t.Fatalf("ParseStatus does not round-trip %q", st)
		}
	})
}
