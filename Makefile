# certgate — make targets. `make help` lists them.

GO      ?= go
BIN     := bin
LINT    := $(BIN)/golangci-lint
CONTROLLER_GEN := $(BIN)/controller-gen
HELM    := $(BIN)/helm
CHART   := charts/certgate
PKGS    := ./...
# VERSION is stamped into bin/certgate (certgate version, certgate_build_info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help build test unit fmt-check vet lint run bench bench-peers clean generate verify-generate chart-check rules-check kube-binaries \
	localcluster cluster-up cluster-down dev conformance soak faults image

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build bin/certgate.
	$(GO) build -buildvcs=true -ldflags "-X github.com/certgate/certgate/internal/buildinfo.version=$(VERSION)" -o $(BIN)/certgate ./cmd/certgate

# The image's reference is the chart's default (values.yaml image.repository,
# Chart.yaml appVersion as the tag), so the chart runs it unmodified; the
# binary inside carries VERSION like bin/certgate. Every time in it is the
# commit's, so the same checkout gives the same digest.
IMAGE_DIR  := .cache/image
IMAGE_REPO := $(shell awk '/^image:/{f=1} f&&/^  repository:/{print $$2; exit}' $(CHART)/values.yaml)
IMAGE_TAG  := $(shell awk -F'"' '/^appVersion:/{print $$2}' $(CHART)/Chart.yaml)
GOARCH_IMAGE ?= $(shell $(GO) env GOARCH)

image: ## Build certgate's OCI image (no container engine) into .cache/image/certgate (layout) and certgate.tar.
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_IMAGE) $(GO) build -trimpath -buildvcs=true \
		-ldflags "-s -w -X github.com/certgate/certgate/internal/buildinfo.version=$(VERSION)" \
		-o $(IMAGE_DIR)/certgate-linux-$(GOARCH_IMAGE) ./cmd/certgate
	cd tools/image && $(GO) run . -binary ../../$(IMAGE_DIR)/certgate-linux-$(GOARCH_IMAGE) \
		-ref $(IMAGE_REPO):$(IMAGE_TAG) -layout ../../$(IMAGE_DIR)/certgate -tarball ../../$(IMAGE_DIR)/certgate.tar \
		-arch $(GOARCH_IMAGE) -version $(VERSION) -revision $$(git rev-parse HEAD 2>/dev/null) \
		-created $${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)}

run: ## The quickstart: a gateway that lets only a pinned client certificate through.
	$(GO) run ./examples/quickstart

test: verify-generate fmt-check vet lint chart-check rules-check unit conformance ## Everything CI runs: generated files, format, vet, lint, the Helm chart, the alert rules, all tests, the Gateway API conformance suite.

# charts/ and charts/install render the chart with bin/helm; charts/install
# also submits it to envtest's kube-apiserver, so it runs here, not in chart-check.
# The local cluster's tests (test/cluster) run Pods from certgate's image.
unit: kube-binaries $(HELM) image ## Unit, golden, data-plane, fuzz-seed and envtest tests (the chart installed on a kube-apiserver among them), with the race detector.
	$(GO) test -race -count=1 $(PKGS)
	cd tools/image && $(GO) test -count=1 ./...

# SOAK_DURATION is how long make soak keeps traffic and churn going.
SOAK_DURATION ?= 10m

# The API server outage test is here too: its traffic holds (0 failed), but
# after the outage the controller's shutdown at the end sometimes overruns
# controller-runtime's 30 s grace under CI load, an open bug.
# The Pod faults (leader Pod deleted, helm upgrade) against the Helm install
# in the local cluster. Not in make test: their target is 0 failed requests,
# and a request now and then still fails as an endpoint changes; root.
faults: kube-binaries $(HELM) image ## Not in make test: leader Pod deleted and helm upgrade under traffic, against the Helm install in the local cluster; counts failed requests.
	$(GO) test -tags 'conformance soak' -count=1 -timeout 30m -v -run '^TestFaults$$' ./test/conformance/

soak: kube-binaries ## Not in make test: SOAK_DURATION (10m) of traffic with route and policy churn, and a 60 s API server outage, on envtest; zero unexpected answers, goroutines and RSS back to baseline.
	CERTGATE_SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -timeout 2h -v -run '^(TestSoak|TestAPIServerStoppedForAMinute)$$' ./test/e2e/

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(LINT): tools/lint/go.mod tools/lint/go.sum
	cd tools/lint && $(GO) build -o ../../$(LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

$(CONTROLLER_GEN): tools/controller-gen/go.mod tools/controller-gen/go.sum
	cd tools/controller-gen && $(GO) build -o ../../$(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

# Like Helm's own release builds, the Kubernetes version that `helm template`
# and `helm lint` assume is the one of the client-go Helm is built with
# (v0.37.x is Kubernetes 1.37); unset, it would be 1.20, older than the
# chart's kubeVersion.
$(HELM): tools/helm/go.mod tools/helm/go.sum
	cd tools/helm && kminor=$$($(GO) list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2) && \
		$(GO) build -ldflags "-X helm.sh/helm/v3/internal/version.version=$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v3) \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$$kminor \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$$kminor" \
		-o ../../$(HELM) helm.sh/helm/v3/cmd/helm

generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code and CRDs from api/, and the chart's copies of the CRDs and RBAC rules.
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	rm -f $(CHART)/files/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/files/crds/
	cp config/rbac/role.yaml $(CHART)/files/role.yaml

verify-generate: generate
	@generated="':(glob)api/**/zz_generated.*' config/crd $(CHART)/files"; \
	if [ -n "$$(eval git status --porcelain -- $$generated)" ]; then \
		echo "generated files are stale; run make generate and commit:"; eval git status --porcelain -- $$generated; exit 1; fi

lint: $(LINT) ## golangci-lint, pinned in tools/lint.
	$(LINT) run --allow-parallel-runners $(PKGS)

# Needs no kube binaries: `go test ./charts/` is the charts package alone,
# not charts/install (which make unit runs against a kube-apiserver).
chart-check: $(HELM) ## Lint and render charts/certgate with the Helm pinned in tools/helm, then test what it renders.
	$(HELM) lint --strict $(CHART)
	@out=$$(mktemp) && trap 'rm -f "$$out"' EXIT && \
		$(HELM) template certgate $(CHART) --namespace certgate-system >"$$out" && \
		echo "helm template: $$(grep -c '^kind:' "$$out") objects rendered"
	$(GO) test -count=1 ./charts/

# promtool comes from Debian's prometheus package (.ci/run installs it). A
# machine without it fails here rather than skipping the alert tests.
rules-check: ## Check the alert rules and test that each fires on the series it is meant for (promtool).
	@command -v promtool >/dev/null || { echo "rules-check: promtool not found; install Debian's prometheus package" >&2; exit 1; }
	promtool check rules $(CHART)/files/prometheus/certgate-rules.yaml
	promtool test rules test/rules/certgate_test.yaml

bench: kube-binaries ## Benchmarks (not tests): route matching, the data plane against a plain Go reverse proxy, route programming against envtest.
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# Peers of make bench-peers: Caddy and Traefik from their tools modules,
# nginx and HAProxy from Debian. A tools module that fails to build is
# reported in the document as not run, not faked.
PEERS_BIN := .cache/peers/bin
BENCH_PEERS_FLAGS ?=
# BENCH_PEERS_TOOLS: the Go peers to build (Traefik is 2,500 packages).
BENCH_PEERS_TOOLS ?= caddy traefik

$(PEERS_BIN)/caddy: tools/caddy/go.mod tools/caddy/go.sum
	cd tools/caddy && $(GO) build -o ../../$@ github.com/caddyserver/caddy/v2/cmd/caddy

$(PEERS_BIN)/traefik: tools/traefik/go.mod tools/traefik/go.sum
	cd tools/traefik && $(GO) build -o ../../$@ github.com/traefik/traefik/v3/cmd/traefik

bench-peers: build ## certgate side by side with nginx, HAProxy, Caddy, Traefik, per proxy CPU-second; writes docs/benchmarks-peers.md (~15 min; BENCH_PEERS_FLAGS=-quick for a check).
	@command -v nginx >/dev/null && command -v haproxy >/dev/null || \
		{ echo "bench-peers: needs nginx and HAProxy from Debian: apt-get install nginx-light haproxy" >&2; exit 1; }
	-$(MAKE) -k $(addprefix $(PEERS_BIN)/,$(BENCH_PEERS_TOOLS))
	$(GO) build -o .cache/peers/bench ./test/bench/peers
	.cache/peers/bench -certgate $(BIN)/certgate -tools-bin $(PEERS_BIN) $(BENCH_PEERS_FLAGS)

kube-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kube-proxy, kubectl (tools/kube) into .cache/kube/bin, if stale.
	GO=$(GO) tools/kube/build.sh

LOCALCLUSTER := .cache/cluster/bin/localcluster

localcluster:
	$(GO) build -o $(LOCALCLUSTER) ./test/cluster/cmd/localcluster

cluster-up: kube-binaries localcluster ## Start the local cluster (netns certgate-cluster; state and logs in .cache/cluster). Root.
	$(LOCALCLUSTER) up

cluster-down: localcluster ## Stop the local cluster and remove its network namespaces.
	$(LOCALCLUSTER) down

dev: build cluster-up ## Local cluster + certgate controller + sample Gateway, HTTPRoute, ClientCertPolicy (docs/development.md).
	$(LOCALCLUSTER) dev --certgate $(BIN)/certgate

conformance: kube-binaries $(HELM) image ## Gateway API conformance suite (pinned, unmodified) against certgate in the local cluster, report in docs/conformance/; then the README's install section, in a cluster of its own.
	$(GO) test -tags conformance -count=1 -timeout 80m -v ./test/conformance/
	$(GO) test -tags conformance -count=1 -timeout 15m -v ./test/conformance/readme/

clean:
	rm -rf $(BIN)
