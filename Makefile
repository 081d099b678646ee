# Bulwark — see README.md. `make test` is the one command that runs all tests.
GO ?= go
TESTDATA ?= /var/tmp/bulwark-testdata
# With Debian's libisal-dev installed, layers are inflated by Intel ISA-L
# (cgo, build tag isal): cold scans take about half the time. Without it the
# pure-Go decoder (klauspost/compress) is used.
TAGS ?= $(shell test -e /usr/include/isa-l/igzip_lib.h && echo isal)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test unit e2e kube testdata demo bench fuzz deps

# gotestsum (from the Go module proxy; `make deps` installs it) shows
# `make test` one line per package and ends with every skipped test and its
# reason, and a line of passed, failed and skipped tests.
GOTESTSUM_VERSION ?= v1.13.0
GOTESTSUM ?= $(shell command -v gotestsum 2>/dev/null || ls "$$($(GO) env GOPATH)/bin/gotestsum" 2>/dev/null || \
	echo "$(GO) run gotest.tools/gotestsum@$(GOTESTSUM_VERSION)")

# The Debian packages the tests use (what .ci/run installs), and gotestsum.
deps:
	apt-get install -y --no-install-recommends docker-registry debootstrap ca-certificates libisal-dev make \
		etcd-server auditd postgresql chromium
	$(GO) install gotest.tools/gotestsum@$(GOTESTSUM_VERSION)

build:
	$(GO) build -tags "$(TAGS)" -ldflags "-X main.version=$(VERSION)" -o bin/bulwark ./cmd/bulwark

# The Debian test image (debootstrap, needs root and Debian's mirror); tests
# that need it skip without it unless BULWARK_REQUIRE_INTEGRATION=1.
testdata:
	@./scripts/testimage.sh $(TESTDATA) bookworm-minbase || echo "warning: could not build the Debian test image; image integration tests will skip"

# All tests: the main module's (unit and integration, with the build tags
# `make build` uses; the gzip decoder is also tested without them so both
# paths stay correct), then the end-to-end tests of the test/ module against a
# real kube-apiserver and etcd (scripts/test.sh). Fails when any test fails.
test: testdata build kube
	@GO="$(GO)" TAGS="$(TAGS)" TESTDATA=$(TESTDATA) KUBE_BIN=$(KUBE_BIN) BULWARK_BIN=$(CURDIR)/bin/bulwark \
		$(GOTESTSUM) --format pkgname --post-run-command "./scripts/test.sh summary" --raw-command -- ./scripts/test.sh run

# The same tests as plain `go test` output, in two steps.
unit: testdata
	BULWARK_TESTDATA=$(TESTDATA) $(GO) test -tags "$(TAGS)" -count=1 -timeout 30m ./...
	$(if $(TAGS),$(GO) test -count=1 -run 'Gzip|Uncompressed|ReadAhead' ./internal/image)

# kube-apiserver from the k8s.io/kubernetes module pinned in test/go.mod; the
# first build takes about 10 minutes, later ones come from Go's build cache.
KUBE_BIN ?= /var/tmp/bulwark-kube/bin
kube:
	./test/build-kube.sh $(KUBE_BIN)

e2e: build kube
	cd test && BULWARK_BIN=$(CURDIR)/bin/bulwark BULWARK_KUBE_APISERVER=$(KUBE_BIN)/kube-apiserver \
		$(GO) test -count=1 -timeout 30m ./...

demo: build testdata
	BULWARK_TESTDATA=$(TESTDATA) ./scripts/demo.sh

bench:
	./scripts/testimage.sh $(TESTDATA) bookworm-minbase bookworm-app
	TAGS="$(TAGS)" ./bench/run.sh

# Short fuzz pass over every fuzz target (the seed corpora also run in `make test`).
fuzz:
	./scripts/fuzz.sh 15s
