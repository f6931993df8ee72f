# Build a static binary, run it as non-root on a distroless base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t hostwatch .
#
# .git stays out of the build context (.dockerignore): it is large, and in a
# worktree it is only a pointer to elsewhere. The revision comes in as an
# argument instead, for `hostwatch version` and hostwatch_build_info.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.vcsRevision=${REVISION}" -o /out/hostwatch ./cmd/hostwatch \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hostwatch /usr/local/bin/hostwatch
COPY --from=build --chown=65532:65532 /out/data /var/lib/hostwatch
# Listen beyond the container's loopback; `hostwatch healthcheck` and
# `hostwatch reload` take the port from here too.
ENV HOSTWATCH_LISTEN=0.0.0.0:8080
VOLUME /var/lib/hostwatch
WORKDIR /var/lib/hostwatch
EXPOSE 8080
# Exec form: the image has no shell. Stopping drains messages for up to
# delivery.drain_timeout (10s): give `docker stop` more (--stop-timeout 30).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/hostwatch", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hostwatch"]
CMD ["run", "-config", "/etc/hostwatch/hostwatch.yaml"]
