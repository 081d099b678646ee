# Bulwark — see README.md. `make test` is the one command that runs all tests.
GO ?= go
TESTDATA ?= /var/tmp/bulwark-testdata
# With Debian's libisal-dev installed, layers are inflated by Intel ISA-L
# (cgo, build tag isal): cold scans take about half the time. Without it the
# pure-Go decoder (klauspost/compress) is used.
TAGS ?= $(shell test -e /usr/include/isa-l/igzip_lib.h && echo isal)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test testdata demo bench fuzz

build:
	$(GO) build -tags "$(TAGS)" -ldflags "-X main.version=$(VERSION)" -o bin/bulwark ./cmd/bulwark

# The Debian test image (debootstrap, needs root and Debian's mirror); tests
# that need it skip without it unless BULWARK_REQUIRE_INTEGRATION=1.
testdata:
	@./scripts/testimage.sh $(TESTDATA) bookworm-minbase || echo "warning: could not build the Debian test image; image integration tests will skip"

# All tests, with the build tags `make build` uses; the gzip decoder is also
# tested without them so both paths stay correct.
test: testdata
	BULWARK_TESTDATA=$(TESTDATA) $(GO) test -tags "$(TAGS)" -count=1 -timeout 30m ./...
	$(if $(TAGS),$(GO) test -count=1 -run 'Gzip|Uncompressed|ReadAhead' ./internal/image)

demo: build testdata
	./scripts/demo.sh

bench:
	./scripts/testimage.sh $(TESTDATA) bookworm-minbase bookworm-app
	TAGS="$(TAGS)" ./bench/run.sh

# Short fuzz pass over every fuzz target (the seed corpora also run in `make test`).
fuzz:
	./scripts/fuzz.sh 15s
