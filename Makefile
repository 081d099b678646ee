# Bulwark — see README.md. `make test` is the one command that runs all tests.
GO ?= go
TESTDATA ?= /var/tmp/bulwark-testdata

.PHONY: build test testdata demo bench fuzz

build:
	$(GO) build -o bin/bulwark ./cmd/bulwark

# The Debian test image (debootstrap, needs root and Debian's mirror); tests
# that need it skip without it unless BULWARK_REQUIRE_INTEGRATION=1.
testdata:
	@./scripts/testimage.sh $(TESTDATA) || echo "warning: could not build the Debian test image; image integration tests will skip"

test: testdata
	BULWARK_TESTDATA=$(TESTDATA) $(GO) test -count=1 -timeout 30m ./...

demo: build testdata
	./scripts/demo.sh

bench: build testdata
	./bench/run.sh

# Short fuzz pass over every fuzz target (the seed corpora also run in `make test`).
fuzz:
	./scripts/fuzz.sh 15s
