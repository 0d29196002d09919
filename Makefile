# Gatehouse developer targets. `make help` lists them.
SHELL   := /bin/bash
# A test run piped into testprogress fails when go test fails, not only when the last command does.
.SHELLFLAGS := -o pipefail -c
GO      ?= go
PKGS    := ./...
FUZZTIME ?= 15s
# How long each new interesting input is minimised: Go's default (60s) stalls slow targets (SAML
# signature checks) for a minute per new input, with nothing fuzzed meanwhile.
FUZZMINIMIZE ?= 5s

.PHONY: help run build deps test test-unit test-interop test-race lint fuzz bench bench-proxy

# Tests against independent implementations outside Go (npm and Debian peers) and real browsers;
# they run under test-interop. Peers that are Go modules run in process under test-unit, in tests
# named TestPeer*.
INTEROP := ^Test(Interop|Browser)

# `go test -json` turned into one line per package as it starts and finishes, the full output of
# failing tests and a reminder of what is running when nothing finished for a minute; it fails
# when any package fails or does not build.
PROGRESS := $(GO) run ./internal/tools/testprogress

# The race detector runs on the packages whose code runs concurrently, and on the in-process
# end-to-end tests that drive Gatehouse's concurrent paths: the proxy (service tokens, streaming,
# upgrades, HTTP/2 resets, bodies, TLS), the App Launcher, several replicas on one store (the MCP
# portal's too); and the DLP engine's concurrent scans.
RACE_PKGS := ./internal/store/... ./internal/token/... ./internal/keys/... ./internal/session/... \
	./internal/proxy/... ./internal/connguard/... ./internal/gateway/inspect/...
RACE_E2E  := ^(TestServiceTokens|TestPeerCloudflareProfileOriginValidation|TestKeyRotationPublishesBothKeys|TestTrustedProxiesAndGeo|TestStreamingWebSocketAndSSE|TestUnreachableUpstreamAndUnmatchedHosts|TestCORSPreflight|TestAmbiguousFramingThroughGatehouse|TestMalformedBodiesReachTheOriginAborted|TestBodyOverTheLimit|TestUpgradeOnBypassPathCarriesNoRequests|TestRapidResetThroughGatehouse|TestWebSocketTunnelCarriesOnlyFrames|TestHTTP2ContentLengthMismatch|TestTLSAndHTTP2|TestH2CPlainListener|TestAppLauncher|TestClusterThreeReplicas|TestMCPPortalScaleOut|TestClusterPINAttemptsAcrossReplicas|TestConcurrentScans|TestGatewayForwardsHTTPAndTunnels|TestGatewayTunnelLimitAndShutdown|TestGatewayInspection)$$

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: ## Run Gatehouse on its embedded default (SQLite, demo app, e-mail PIN login)
	$(GO) run ./cmd/gatehouse demo

build: ## Build bin/gatehouse
	$(GO) build -o bin/gatehouse ./cmd/gatehouse

# deps comes first, so that a missing tool stops the run at once rather than after the long targets.
test: deps lint test-unit test-race test-interop ## The whole test suite (what CI runs)

deps: ## Install what interop and browser tests need (Chromium, npm peers); idempotent
	bash scripts/install-test-deps.sh

test-unit: ## Unit, conformance and in-process end-to-end tests
	@[ -n "$$GATEHOUSE_TEST_POSTGRES_DSN" ] || echo "*** PostgreSQL suites SKIPPED: GATEHOUSE_TEST_POSTGRES_DSN is not set (CI sets it) ***"
	$(GO) test -json -count=1 -skip '$(INTEROP)' $(PKGS) | $(PROGRESS)

test-race: ## Race detector on the concurrent packages and the proxy's end-to-end tests
	@echo "test-race: compiling with the race detector first takes minutes; packages are listed as they run"
	$(GO) test -json -count=1 -race $(RACE_PKGS) | $(PROGRESS)
	$(GO) test -json -count=1 -race -run '$(RACE_E2E)' ./internal/app ./internal/dlp | $(PROGRESS)

test-interop: deps ## Interoperability tests (independent SAML/OIDC peers, go-oidc as an origin) and headless-Chromium tests
	$(GO) test -json -count=1 -run '$(INTEROP)' $(PKGS) | $(PROGRESS)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz: ## Run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

bench: ## Go benchmarks of the hot path
	$(GO) test -run '^$$' -bench . -benchmem ./internal/proxy/ ./internal/policy/ ./internal/route/ ./internal/token/

bench-proxy: ## Whole-process load: upstream vs Caddy vs Gatehouse (writes bench/RESULTS.md)
	bash bench/run.sh
