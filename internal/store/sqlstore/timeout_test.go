package sqlstore

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestStatementsRunUnderTheOperationContext enforces what makes the operation timeout reach
// every statement: database/sql does not interrupt a statement when only its transaction's
// context ends, so each transaction callback must take the operation's context as its first
// parameter, named ctx (shadowing the method's own), and nothing but the transaction helpers may
// use the pool directly.
func TestStatementsRunUnderTheOperationContext(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	helpers := map[string]bool{"read": true, "write": true, "transact": true, "transactUnbounded": true}
	// The functions allowed to touch s.db: opening and closing the pool, the bounded ping and
	// fingerprint, and the transaction helpers themselves.
	poolUsers := map[string]bool{"Open": true, "Ping": true, "Close": true, "fingerprint": true, "read": true, "writeOnce": true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || !helpers[sel.Sel.Name] || len(n.Args) == 0 {
						return true
					}
					lit, ok := n.Args[len(n.Args)-1].(*ast.FuncLit)
					if !ok {
						return true
					}
					checked++
					params := lit.Type.Params.List
					if len(params) == 0 || len(params[0].Names) == 0 || params[0].Names[0].Name != "ctx" {
						t.Errorf("%s: the callback of %s must take the operation's context as its first parameter, named ctx",
							fset.Position(lit.Pos()), sel.Sel.Name)
					}
				case *ast.SelectorExpr:
					if n.Sel.Name == "db" && !poolUsers[fn.Name.Name] {
						if id, ok := n.X.(*ast.Ident); ok && id.Name == "s" {
							t.Errorf("%s: %s uses s.db directly; run statements through read or write, which bound them",
								fset.Position(n.Pos()), fn.Name.Name)
						}
					}
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d transaction callbacks; the scan is broken", checked)
	}
}

// hangingRelay is a TCP relay to a database that can be made to hang: after hang, it accepts
// connections and reads what clients send but never forwards or answers anything, as a
// database behind a black-holing network or a stalled server would.
type hangingRelay struct {
	addr   string
	target string
	hung   atomic.Bool

	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	closed bool
}

func newHangingRelay(t *testing.T, target string) *hangingRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &hangingRelay{addr: ln.Addr().String(), target: target, ln: ln}
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *hangingRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = c.Close()
		return false
	}
	r.conns = append(r.conns, c)
	return true
}

func (r *hangingRelay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			return
		}
		if r.hung.Load() {
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		up, err := net.Dial("tcp", r.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !r.track(up) {
			return
		}
		go r.pipe(up, c)
		go r.pipe(c, up)
	}
}

// pipe copies src to dst until the relay hangs; from then on it swallows what src sends.
func (r *hangingRelay) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !r.hung.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !r.hung.Load() {
				_ = dst.Close()
			}
			return
		}
	}
}

func (r *hangingRelay) hang() { r.hung.Store(true) }

func (r *hangingRelay) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	_ = r.ln.Close()
	for _, c := range r.conns {
		_ = c.Close()
	}
}

// TestPostgresHangingDatabase: when PostgreSQL hangs (connections accepted, nothing answered),
// every operation — on pooled connections, on new ones, more of them than the pool holds, reads,
// writes and pings — fails with store.ErrUnavailable once the operation timeout has passed,
// instead of waiting forever.
func TestPostgresHangingDatabase(t *testing.T) {
	dsn := postgresTestDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	relay := newHangingRelay(t, u.Host)
	u.Host = relay.addr
	s := openPostgres(t, u.String(), WithPollInterval(0), WithOperationTimeout(300*time.Millisecond))
	ctx := context.Background()
	// Fill the pool with live connections first, so that the hang catches some mid-use.
	var warm sync.WaitGroup
	for range pgMaxIdleConns {
		warm.Go(func() { _, _ = s.GetConfig(ctx) })
	}
	warm.Wait()
	type result struct {
		name string
		err  error
	}
	results := make(chan result)
	// The database hangs in the middle of a transaction: its remaining statements must be bounded
	// too, not only the ones that start later.
	hung := make(chan struct{})
	go func() {
		_, err := s.UpdateConfig(ctx, func(*store.Config) error {
			relay.hang()
			close(hung)
			return nil
		})
		results <- result{"mid-transaction", err}
	}()
	<-hung
	n := 1

	ops := map[string]func() error{
		"read":  func() error { _, err := s.GetUser(ctx, "nobody"); return err },
		"write": func() error { return s.RevokeAppTokens(ctx, "app") },
		"ping":  func() error { return s.Ping(ctx) },
		"update": func() error {
			_, err := s.UpdateConfig(ctx, func(*store.Config) error { return nil })
			return err
		},
	}
	for i := range pgMaxOpenConns + 5 { // more than the pool holds: some wait for a connection
		for name, op := range ops {
			if i > 0 && name != "read" {
				continue
			}
			n++
			go func() { results <- result{name, op()} }()
		}
	}
	deadline := time.After(30 * time.Second) // a bound for the test, far above the timeout
	for range n {
		select {
		case r := <-results:
			if !errors.Is(r.err, store.ErrUnavailable) {
				t.Errorf("%s against a hanging database: %v, want store.ErrUnavailable", r.name, r.err)
			}
		case <-deadline:
			t.Fatal("store operations still waiting on a hanging database")
		}
	}
}

// TestOperationTimeoutCoversTheWriteQueue: on SQLite, writes of one process queue behind each
// other; a write stuck in the queue fails with store.ErrUnavailable at the operation timeout.
func TestOperationTimeoutCoversTheWriteQueue(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "q.db"), WithPollInterval(0),
		WithOperationTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := s.UpdateConfig(context.Background(), func(*store.Config) error {
			close(holding)
			<-release
			return nil
		})
		first <- err
	}()
	<-holding
	second := make(chan error, 1)
	go func() { second <- s.RevokeAppTokens(context.Background(), "app") }()
	select {
	case err := <-second:
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "did not answer within 200ms") {
			t.Errorf("queued write: %v, want store.ErrUnavailable after the operation timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a queued write waited past the operation timeout")
	}
	close(release)
	<-first // committed or not (its own timeout passed while it held the queue): either is fine
}

// TestOperationTimeoutOff: WithOperationTimeout(0) leaves operations unbounded, bounded only by
// the caller's context, whose error is returned as it is.
func TestOperationTimeoutOff(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "o.db"), WithPollInterval(0), WithOperationTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GetConfig(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("cancelled caller: %v, want context.Canceled and not ErrUnavailable", err)
	}
}
