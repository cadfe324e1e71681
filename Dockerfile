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
WORKDIR /data
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nightowl"]
CMD ["run"]
