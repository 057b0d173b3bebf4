# The chat server (and the `chat` command line) in a container.
#
# Build with `make image` (or deploy/build-image.sh): it first puts wheels of chat and its
# dependencies into ./wheelhouse, because nothing is downloaded during the build. That keeps
# the image buildable on an air-gapped LAN and keeps pip's download tools out of the image.
#
#   BASE_IMAGE=python:3.12-slim make image     # with a registry: any Debian-like image with python3
#   make image                                  # without one: our own Debian base (make base-image)
#
# Run:
#   docker run -d --name chat -p 6667:6667 -v chat-data:/data chat
# Settings: /etc/chat/chat.yaml (config/container.yaml); mount your own file over it, or use the
# CHAT_* variables (CHAT_LOG_LEVEL, CHAT_HISTORY, ...). Messages are kept in the /data volume.
# Written for the legacy builder too (Docker 20.10 without BuildKit): no RUN --mount, no heredocs.

ARG BASE_IMAGE=python:3.12-slim

# --- build stage: a venv with chat installed from the wheelhouse; only the venv is kept ---
FROM ${BASE_IMAGE} AS build
# Lets deploy/build-image.sh remove this stage's leftover image after the build.
LABEL chat.stage=build
COPY wheelhouse/ /tmp/wheelhouse/
# A venv in both cases: Debian's python3 refuses pip installs into the system ("externally
# managed"), and one layout for every base keeps the PATH and the paths below the same.
# pip itself is removed afterwards: the running server never installs anything.
RUN python3 -m venv /opt/chat \
    && /opt/chat/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse chat \
    && /opt/chat/bin/pip uninstall --yes --quiet pip setuptools \
    && /opt/chat/bin/chat --version

# --- runtime stage ---
# Everything that does not depend on the wheels comes first, so a rebuild after a code change
# reuses those layers and only copies the new venv.
FROM ${BASE_IMAGE}

# A fixed uid, so a bind-mounted /data can be chowned to it on the host (chown 10001 DIR).
# Written straight into passwd/group because the minimal Debian base has no useradd.
RUN echo 'chat:x:10001:' >>/etc/group \
    && echo 'chat:x:10001:10001:chat server:/data:/usr/sbin/nologin' >>/etc/passwd \
    && mkdir -p /data /etc/chat \
    && chown chat:chat /data
COPY config/container.yaml /etc/chat/chat.yaml

ENV PATH=/opt/chat/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER chat
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6667

# Healthy = the server answers an IRC handshake, not just that the process exists. The check
# reads the server's own settings (the mounted file and CHAT_* variables, CHAT_PORT included):
# the plain port, or the TLS port when tls.require closed it; a server password's refusal
# counts as an answer. Keep the path in step with CMD below if you change it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD chat status --timeout 4 --config /etc/chat/chat.yaml >/dev/null || exit 1

# tini as PID 1 when the base has it (our Debian base does): it forwards docker stop's SIGTERM
# and reaps zombies. python:*-slim has no tini; there the command runs as PID 1 itself, which is
# fine for `chat serve` (it handles SIGTERM and starts no children); add `docker run --init`
# for other commands. Under --init, PID 1 is already an init, so tini is skipped.
ENTRYPOINT ["/bin/sh", "-c", "if [ $$ -eq 1 ] && command -v tini >/dev/null; then exec tini -- \"$@\"; fi; exec \"$@\"", "chat-entrypoint"]
CMD ["chat", "serve", "--config", "/etc/chat/chat.yaml"]

COPY --from=build /opt/chat /opt/chat
ARG VERSION=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title=chat \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$REVISION
