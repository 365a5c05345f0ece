# Offline stand-in for the official denoland/deno:debian image: Debian bookworm + the deno
# binary from the npm registry's deno package (the one running this script).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
COPY deno /usr/bin/deno
RUN set -eux; \
    chmod 0755 /usr/bin/deno; \
    groupadd --gid 1993 deno; \
    useradd --uid 1993 --gid deno --no-create-home --shell /usr/sbin/nologin deno; \
    mkdir /deno-dir; chown deno:deno /deno-dir; \
    deno --version
ENV DENO_DIR=/deno-dir/ DENO_INSTALL_ROOT=/usr/local DENO_NO_UPDATE_CHECK=1
CMD ["deno"]
