# certgate — make targets. `make help` lists them.

GO      ?= go
BIN     := bin
LINT    := $(BIN)/golangci-lint
PKGS    := ./...

.PHONY: help build test unit fmt-check vet lint run bench clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build bin/certgate.
	$(GO) build -o $(BIN)/certgate ./cmd/certgate

run: ## The quickstart: a gateway that lets only a pinned client certificate through.
	$(GO) run ./examples/quickstart

test: fmt-check vet lint unit ## Everything CI runs: format, vet, lint, all tests.

unit: ## Unit, golden, data-plane and fuzz-seed tests, with the race detector.
	$(GO) test -race -count=1 $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(LINT): tools/lint/go.mod tools/lint/go.sum
	cd tools/lint && $(GO) build -o ../../$(LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(LINT) ## golangci-lint, pinned in tools/lint.
	$(LINT) run $(PKGS)

bench: ## Benchmarks (not tests): route matching, and the data plane against a plain Go reverse proxy.
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

clean:
	rm -rf $(BIN)
