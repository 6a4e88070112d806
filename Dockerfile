# Multi-stage build: compile the three binaries statically, ship them on a
# minimal base with a non-root user.
#
# Build arguments:
#   VERSION        reported by `bridge version`, BridgeStarted and /status
#                  (docker compose passes $CTIBRIDGE_VERSION; set it to
#                  `git describe --tags --always --dirty`)
#   GO_IMAGE       the Go toolchain image of the build stage
#   RUNTIME_IMAGE  the base of the final image: static binaries need no libc;
#                  it must have the user `nonroot`
#
# Without a registry (air-gapped hosts, this project's CI), build the
# binaries with Go on the host and copy them in with the `prebuilt` target,
# from a context holding only the binaries:
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/ctibridge/ctibridge/internal/bridge.Version=$V" \
#     -o ctx/ ./cmd/bridge ./cmd/replay ./cmd/ctisim
#   docker build -f Dockerfile --target prebuilt --build-arg VERSION=$V -t ctibridge:local ctx
# (docs/operations.md, "Images without a registry").
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="ctibridge" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/ctibridge/ctibridge"
USER nonroot:nonroot
WORKDIR /home/nonroot
# The bridge's ops endpoint (http.listen). The simulator's CTI ports are
# the ctisim service's business, declared in docker-compose.yml.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["run", "--config", "/etc/ctibridge/bridge.yaml"]

# The image from binaries built outside Docker (see above). It comes before
# the build stage so that `--target prebuilt` never needs GO_IMAGE, even
# with the classic builder, which builds every stage up to its target. For
# the same reason the classic builder builds this stage from the
# repository's context on the way to the default target (and discards
# it): go.mo[d] matches there, where the binaries do not, since a COPY
# whose patterns all match nothing fails.
FROM runtime AS prebuilt
COPY go.mo[d] bridge* replay* ctisim* /usr/local/bin/

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w -X github.com/ctibridge/ctibridge/internal/bridge.Version=${VERSION}" \
      -o /out/ ./cmd/bridge ./cmd/replay ./cmd/ctisim

FROM runtime
COPY --from=build /out/bridge /out/replay /out/ctisim /usr/local/bin/
