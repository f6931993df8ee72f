# Build a static binary, run it as non-root on a distroless base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hostwatch ./cmd/hostwatch \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hostwatch /usr/local/bin/hostwatch
COPY --from=build --chown=65532:65532 /out/data /var/lib/hostwatch
VOLUME /var/lib/hostwatch
WORKDIR /var/lib/hostwatch
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hostwatch"]
CMD ["run", "-config", "/etc/hostwatch/hostwatch.yaml"]
