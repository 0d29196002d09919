package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestMCPToolCallMetrics: the call log writer's "mcp call" lines of tool calls are counted by
// decision even when the log level drops them, other lines are passed on untouched, and an
// unexpected decision is counted as other.
func TestMCPToolCallMetrics(t *testing.T) {
	var out bytes.Buffer
	g := &Gatehouse{registry: prometheus.NewRegistry(), log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	log := g.mcpCallMetrics()
	w := mcp.NewCallLogWriter(nil, log.With("component", "mcp"))
	for _, d := range []string{"allow", "allow", "block", "error", "weird"} {
		w.Log(store.MCPCallLog{Method: "tools/call", Decision: d})
	}
	w.Log(store.MCPCallLog{Method: "resources/read", Decision: "allow"})
	log.Warn("mcp call logs not stored", "entries", 3)
	families, err := g.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "gatehouse_mcp_tool_calls_total" {
			t.Errorf("unexpected metric %s", f.GetName())
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	for d, want := range map[string]float64{"allow": 2, "block": 1, "error": 1, "other": 1} {
		if got[d] != want {
			t.Errorf("decision %s: %v, want %v (all: %v)", d, got[d], want, got)
		}
	}
	if s := out.String(); strings.Contains(s, `msg="mcp call"`) || !strings.Contains(s, "mcp call logs not stored") || !strings.Contains(s, "entries=3") {
		t.Errorf("log output:\n%s", s)
	}
}
