package config

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// consoleRoles are the roles a policy link of the admin_console application may give.
var consoleRoles = map[string]bool{store.ConsoleRoleAdministrator: true, store.ConsoleRoleReadOnly: true, store.ConsoleRoleAuditor: true}

// consoleApp checks an application of type admin_console: its policies decide who may use the
// admin console on <prefix>admin/, and the role on each policy link what they may do there.
// Without one nobody may use the console (fail closed).
func (c *checker) consoleApp(path string, i int, a *store.Application, seen *int) {
	c.authDomainApp(path, i, a, seen, "an admin_console", "admin/", "nobody could use the console")
	for j, l := range a.Policies {
		if !consoleRoles[l.Role] {
			c.addf(fmt.Sprintf("%s.policies[%d].role", path, j),
				"must be administrator, read_only or auditor (the console role this policy gives), not %q", l.Role)
		}
	}
}

// policyLinkRoles refuses a role on the policy links of an application that is not the admin
// console: only the console has roles.
func (c *checker) policyLinkRoles(path string, a *store.Application) {
	if a.Type == store.AppAdminConsole {
		return
	}
	for j, l := range a.Policies {
		if l.Role != "" {
			c.addf(fmt.Sprintf("%s.policies[%d].role", path, j), "only the policies of an admin_console application have a role (this is a %s application)", a.Type)
		}
	}
}
