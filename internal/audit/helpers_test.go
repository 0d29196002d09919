package audit_test

import (
	"io"
	"log/slog"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
