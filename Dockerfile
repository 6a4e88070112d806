# syntax=docker/dockerfile:1
# Multi-stage build: compile the three binaries statically, ship them on a
# minimal base with a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/bridge ./cmd/bridge && \
    go build -trimpath -ldflags="-s -w" -o /out/replay ./cmd/replay && \
    go build -trimpath -ldflags="-s -w" -o /out/ctisim ./cmd/ctisim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /out/replay /out/ctisim /usr/local/bin/
USER nonroot:nonroot
WORKDIR /home/nonroot
EXPOSE 2748 2749 8080
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["run", "--config", "/etc/ctibridge/bridge.yaml"]
