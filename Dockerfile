# syntax=docker/dockerfile:1
# nightowl: a static Go binary on a slim Debian with Ansible (ansible-core plus the ansible.posix and
# kubernetes.core collections, from Debian's "ansible" package). SQLite lives on the /data volume.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nightowl ./cmd/bot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ansible python3-kubernetes ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin nightowl \
 && mkdir -p /data /etc/nightowl \
 && chown nightowl:nightowl /data
COPY --from=build /out/nightowl /usr/local/bin/nightowl
COPY runbooks /etc/nightowl/runbooks
COPY playbooks /etc/nightowl/playbooks
COPY deploy/alertmanager /etc/nightowl/alertmanager
ENV DB_PATH=/data/bot.db \
    RUNBOOKS_DIR=/etc/nightowl/runbooks \
    PLAYBOOKS_DIR=/etc/nightowl/playbooks \
    HOME=/data \
    LANG=C.UTF-8
USER nightowl
VOLUME ["/data"]
# Only proves the binary starts: with METRICS_ADDR set, the check should
# ask http://127.0.0.1:9090/healthz, and the image has no curl (a small
# nightowl subcommand would do). Kubernetes ignores HEALTHCHECK and uses
# its own probes on /healthz and /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/nightowl", "version"]
WORKDIR /data
# OCI labels, last so that a new version rebuilds no other layer. Build with:
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t nightowl .
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="nightowl" \
      org.opencontainers.image.description="Slack ChatOps bot: groups Prometheus alerts into incident cards, runs Ansible runbooks on approval" \
      org.opencontainers.image.source="https://github.com/nightowl-sre/nightowl" \
      org.opencontainers.image.documentation="https://github.com/nightowl-sre/nightowl/blob/main/README.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nightowl"]
CMD ["run"]
