# Not built in this repository's CI (no container engine there); keep it minimal and conventional.
# Build: docker build --build-arg VERSION=v0.1.0 -t ghcr.io/certgate/certgate:0.1.0 .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/certgate/certgate/internal/buildinfo.version=${VERSION}" -o /out/certgate ./cmd/certgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/certgate /certgate
USER 65532:65532
ENTRYPOINT ["/certgate"]
CMD ["controller"]
