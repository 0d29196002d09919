package main

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// logLines hands the gateway the log's writer exactly when newLogger's handler is slog's
// JSONHandler (the gateway then writes its request lines there in that handler's encoding).
func TestLogLinesFollowsTheHandler(t *testing.T) {
	for _, format := range []string{"", "json", "text"} {
		var buf bytes.Buffer
		cfg := &config.File{}
		cfg.Log.Format = format
		_, isJSON := newLogger(&buf, cfg).Handler().(*slog.JSONHandler)
		if got := logLines(&buf, cfg) != nil; got != isJSON {
			t.Errorf("format %q: logLines set %v, JSON handler %v", format, got, isJSON)
		}
	}
	if _, isJSON := newLogger(&bytes.Buffer{}, nil).Handler().(*slog.JSONHandler); !isJSON || logLines(&bytes.Buffer{}, nil) == nil {
		t.Error("without a configuration: the JSON handler and its writer for the gateway")
	}
}
