package criteria

import (
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// Errors of GitHubOrganization, so that callers can tell which field is wrong.
var (
	ErrGitHubOrganization = errors.New("organization name is required (the organization's login, without spaces or slashes)")
	ErrGitHubTeam         = errors.New("team must be the team's slug as in github.com/orgs/<org>/teams/<slug>, without spaces or slashes")
)

// GitHubOrganization returns the github-organization selector: the user logged in with GitHub
// and is a member of organization org (case-insensitively) and, when team is set, of the team
// with that slug in it (case-insensitively). When idpID is set, the user logged in with that
// identity provider. The caller checks that the IdP exists.
func GitHubOrganization(org, team, idpID string) (Criterion, error) {
	if org == "" || strings.ContainsAny(org, " \t/@") {
		return Criterion{}, ErrGitHubOrganization
	}
	if strings.ContainsAny(team, " \t/@") {
		return Criterion{}, ErrGitHubTeam
	}
	return Criterion{kind: KindGitHubOrganization, value: org, ext: &extension{team: team, idp: idpID}}, nil
}

func matchGitHubOrganization(id *identity.Identity, org, team, idp string) bool {
	if idp != "" && id.IdP.ID != idp {
		return false
	}
	for i := range id.GitHubOrgs {
		o := &id.GitHubOrgs[i]
		if !strings.EqualFold(o.Name, org) {
			continue
		}
		if team == "" {
			return true
		}
		for _, t := range o.Teams {
			if strings.EqualFold(t, team) {
				return true
			}
		}
	}
	return false
}
