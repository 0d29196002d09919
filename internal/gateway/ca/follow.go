package ca

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Reload hands minter the CA in use now: a newly activated CA replaces the previous one (and
// empties the cache), no CA in use leaves minter with none (every mint then fails with
// ErrNoCAInUse), and the CA it already has is kept without decrypting it again. When the store
// cannot be read or the key does not decrypt, minter keeps what it has and the error is
// returned.
func (m *Manager) Reload(ctx context.Context, minter *Minter) error {
	cas, err := m.st.ListGatewayCAs(ctx)
	if err != nil {
		return err
	}
	for i := range cas {
		if cas[i].State != store.GatewayCAInUse {
			continue
		}
		if cur := minter.Authority(); cur != nil && cur.id == cas[i].ID {
			return nil
		}
		a, err := m.authority(&cas[i])
		if err != nil {
			return err
		}
		minter.SetAuthority(a)
		return nil
	}
	minter.SetAuthority(nil)
	return nil
}

// Follow keeps minter on the CA in use: it reloads now and after every change notification
// about keys on changes (a store's Watch channel, which reports gateway CA changes as Keys
// changes, also those made by other processes such as the CLI), until ctx ends or changes is
// closed. Failed reloads are logged; minter keeps its CA until a reload succeeds.
func (m *Manager) Follow(ctx context.Context, changes <-chan store.Change, minter *Minter, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reload := func() {
		before := minter.Authority()
		if err := m.Reload(ctx, minter); err != nil {
			if !errors.Is(err, context.Canceled) {
				log.LogAttrs(ctx, slog.LevelError, "gateway CA not reloaded; keeping the current one", slog.Any("err", err))
			}
			return
		}
		if after := minter.Authority(); after != before {
			if after == nil {
				log.LogAttrs(ctx, slog.LevelWarn, "no gateway CA in use; TLS cannot be inspected")
			} else {
				log.LogAttrs(ctx, slog.LevelInfo, "gateway CA in use", slog.String("id", after.id), slog.String("sha256", after.fingerprint))
			}
		}
	}
	reload()
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			if c.Keys {
				reload()
			}
		}
	}
}
