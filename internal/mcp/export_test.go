package mcp

// SetSlowOnly turns the portal's tools/call fast path off (on false: back on).
func SetSlowOnly(p *Portal, on bool) { p.slowOnly.Store(on) }

// FastCalls counts the tools/call requests the fast path answered.
func FastCalls(p *Portal) int64 { return p.fastCalls.Load() }
