# slokeeper: make run (the main job), make test (every test), make lint.
GO        ?= go
BIN       ?= bin/slokeeper
PKGS      ?= ./...
STATICCHECK_VERSION ?= v0.8.2
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/slokeeper/slokeeper/internal/version.Version=$(VERSION)
OUT       ?= out
FUZZTIME  ?= 10m

.PHONY: all build install run test test-deps lint bench fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/slokeeper

install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/slokeeper

# The main job: validate the example SLOs in testdata, generate everything
# from them into $(OUT)/, and show what came out.
run: build
	@./scripts/run.sh $(BIN) $(OUT)

# Every test, with the real components they need (Debian's prometheus,
# prometheus-alertmanager and chromium); installed with apt-get when running
# as root and missing. The longest are the end-to-end tests of
# cmd/slokeeper (the demo's planned freeze and lift takes about 15 minutes).
test: test-deps
	$(GO) test -count=1 -timeout 60m $(PKGS)

test-deps:
	@./scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)
	$(GO) mod tidy -diff

bench:
	@./scripts/bench.sh

# Run every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin $(OUT)
