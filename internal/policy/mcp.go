package policy

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ObjectMCPPortal names MCP portals in compile errors.
const ObjectMCPPortal = "mcp_portal"

// MCPServerPolicyID is the id under which Engine.App finds the policies of a portal's server
// entry; MCPToolPolicyID those of one tool's setting. Both exist only when policies are linked
// there: a nil App means no further restriction.
func MCPServerPolicyID(portalID, serverID string) string {
	return portalID + "/" + serverID
}

// MCPToolPolicyID is the id of a portal tool setting's policies (see MCPServerPolicyID).
func MCPToolPolicyID(portalID, serverID, tool string) string {
	return portalID + "/" + serverID + "/" + tool
}

// compileMCPPortals compiles every MCP portal's policies as an application of the portal's id
// (portals are Access applications and share their id space), and its servers' and tools'
// policies under MCPServerPolicyID and MCPToolPolicyID.
func (c *compiler) compileMCPPortals(apps map[string]*App, portals []store.MCPPortal) {
	for i := range portals {
		p := &portals[i]
		o := owner{ObjectMCPPortal, p.ID}
		if !c.checkID(o, func(id string) bool { return apps[id] != nil }) {
			continue
		}
		apps[p.ID] = c.linkPolicies(o, "policies", p.ID, p.Policies)
		for j := range p.Servers {
			s := &p.Servers[j]
			if len(s.Policies) > 0 {
				apps[MCPServerPolicyID(p.ID, s.ServerID)] = c.linkPolicies(o, fmt.Sprintf("servers[%d].policies", j), MCPServerPolicyID(p.ID, s.ServerID), s.Policies)
			}
			for k := range s.UpdatedTools {
				t := &s.UpdatedTools[k]
				if len(t.Policies) > 0 {
					id := MCPToolPolicyID(p.ID, s.ServerID, t.Name)
					apps[id] = c.linkPolicies(o, fmt.Sprintf("servers[%d].updated_tools[%d].policies", j, k), id, t.Policies)
				}
			}
		}
	}
}
