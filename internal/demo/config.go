package demo

import (
	"fmt"
)

// Config returns the demo configuration: SQLite and the master key in dataDir, the auth domain
// and the demo app on *.localhost, e-mail PIN login with PINs in the log, anyone at example.com
// allowed, and /public/ of the demo app open to everyone.
func Config(dataDir, listen, upstreamURL string) string {
	return fmt.Sprintf(`# Written by "gatehouse demo" at every start; edit a copy and run "gatehouse serve --config" to experiment.
version: 1
organization:
  name: Gatehouse demo
  auth_domain: auth.localhost
  session_duration: 24h
listen:
  public: %q
  internal: "127.0.0.1:0"
storage:
  driver: sqlite
  dsn: %q
secrets:
  master_key_file: %q
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
applications:
  - id: demo
    name: Demo app
    destinations: [demo.localhost]
    upstream: %q
    session_duration: 8h
    app_launcher_visible: true
    policies: [{ref: example-com, precedence: 1}]
  - id: demo-public
    name: Demo app (public pages)
    destinations: ["demo.localhost/public/*"]
    upstream: %q
    policies: [{ref: everyone-bypass, precedence: 1}]
  - id: launcher
    type: app_launcher
    name: App Launcher
    policies: [{ref: example-com, precedence: 1}]
  - id: docs
    type: bookmark
    name: Gatehouse docs (bookmark)
    domain: https://github.com/gatehouse/gatehouse/tree/main/docs
    app_launcher_visible: true
policies:
  - id: example-com
    name: Anyone at example.com
    decision: allow
    include: [{email_domain: {domain: example.com}}]
  - id: everyone-bypass
    name: Public pages
    decision: bypass
    include: [{everyone: {}}]
`, listen, "file:"+dataDir+"/gatehouse.db", dataDir+"/master.key", upstreamURL, upstreamURL)
}
