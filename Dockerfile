# syntax=docker/dockerfile:1
# nightowl: a static Go binary on a slim Debian with ansible-core and the only two Ansible collections its
# playbooks use: ansible.posix (the jsonl stdout callback nightowl reads) and kubernetes.core (the shipped
# runbooks). SQLite lives on the /data volume.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nightowl ./cmd/bot

# Debian packages no Ansible collection on its own: every one comes in the "ansible" bundle (about 90
# collections, 500 MB). This stage installs the bundle only to copy the two collections out of it; their
# versions (ansible.posix 1.5.4, kubernetes.core 2.4.0) are the ones Debian pairs with its ansible-core 2.14.
# TestPlaybooksNeedOnlyTheCollectionsTheImageCopies checks that the shipped playbooks need no other.
FROM debian:bookworm-slim AS collections
RUN apt-get update \
 && apt-get install -y --no-install-recommends ansible \
 && mkdir -p /out/ansible_collections/ansible /out/ansible_collections/kubernetes \
 && cp -a /usr/lib/python3/dist-packages/ansible_collections/ansible/posix /out/ansible_collections/ansible/ \
 && cp -a /usr/lib/python3/dist-packages/ansible_collections/kubernetes/core /out/ansible_collections/kubernetes/

FROM debian:bookworm-slim
# python3-kubernetes is what kubernetes.core's modules import.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ansible-core python3-kubernetes ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin nightowl \
 && mkdir -p /data /etc/nightowl \
 && chown nightowl:nightowl /data
COPY --from=build /out/nightowl /usr/local/bin/nightowl
COPY --from=collections /out/ansible_collections /usr/share/ansible/collections/ansible_collections
COPY runbooks /etc/nightowl/runbooks
COPY playbooks /etc/nightowl/playbooks
COPY deploy/alertmanager /etc/nightowl/alertmanager
ENV DB_PATH=/data/bot.db \
    RUNBOOKS_DIR=/etc/nightowl/runbooks \
    PLAYBOOKS_DIR=/etc/nightowl/playbooks \
    METRICS_ADDR=:9090 \
    HOME=/data \
    LANG=C.UTF-8
USER nightowl
VOLUME ["/data"]
EXPOSE 9090
# `nightowl healthcheck` GETs http://127.0.0.1:<port of METRICS_ADDR>/healthz and exits 0 or 1 with one
# line (the image has no curl). Kubernetes ignores HEALTHCHECK and probes /healthz and /readyz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/nightowl", "healthcheck"]
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
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nightowl"]
CMD ["run"]
