#!/usr/bin/env bash
# Build the Kubernetes test binaries (etcd, kube-apiserver, kube-proxy,
# kube-controller-manager, kubectl) from the Go modules pinned in this
# directory's go.mod into .cache/kube/bin at the repository root.
#
# Rebuilds only when a binary is missing or when the inputs changed: the stamp
# file .cache/kube/bin/.stamp holds a hash of go.mod, go.sum, the mains, this
# script and the Go version. A cold build takes several minutes on two cores;
# the Go build cache makes a rebuild after a stamp change fast.
#
# Usage: tools/kube/build.sh [-f]     (-f: rebuild even if up to date)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.cache/kube/bin"
stamp="$out/.stamp"
GO="${GO:-go}"
bins=(etcd kube-apiserver kube-controller-manager kube-proxy kubectl)
version=v1.37.2 # k8s.io/kubernetes in go.mod

force=0
[[ "${1:-}" == "-f" ]] && force=1

mkdir -p "$out"
# Several checkouts' `make test` may run at once: one build at a time.
exec 9>"$root/.cache/kube/.lock"
flock 9

want="$(cd "$here" && { cat go.mod go.sum build.sh cmd/*/main.go; "$GO" version; } | sha256sum | cut -d' ' -f1)"

uptodate=1
for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || uptodate=0; done
[[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || uptodate=0
if [[ $uptodate == 1 && $force == 0 ]]; then
	echo "kube-binaries: up to date in ${out#"$root"/} (${bins[*]})"
	exit 0
fi

pkg=k8s.io/component-base/version
ldflags="-s -w \
 -X $pkg.gitVersion=$version \
 -X $pkg.gitMajor=$(echo "$version" | cut -d. -f1 | tr -d v) \
 -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2) \
 -X $pkg.gitTreeState=clean \
 -X $pkg.buildDate=1970-01-01T00:00:00Z"

echo "kube-binaries: building ${bins[*]} ($version) into ${out#"$root"/} ..."
start=$SECONDS
rm -f "$stamp"
cd "$here"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Static, like upstream's release binaries; no cgo so no C toolchain needed.
CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp/" ./cmd/...
for b in "${bins[@]}"; do mv -f "$tmp/$b" "$out/$b"; done
echo "$want" >"$stamp"
echo "kube-binaries: built in $((SECONDS - start))s"
