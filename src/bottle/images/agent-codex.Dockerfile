# bot-bottle agent image, template `codex` (SPEC §6.6, §10): the base image (user `node`,
# uid 1000) plus bash, git, ca-certificates, curl, procps, ripgrep and the provider CLI
# @openai/codex@0.171.0, pinned; AGENT_CLIS in src/bottle/image_spec.ts agrees.
# Built by src/bottle/image_build.ts with the classic builder; `extra-ca/` holds
# BOT_BOTTLE_EXTRA_CA_CERTS (possibly nothing). NPM_REGISTRY selects an npm mirror.
ARG BASE_IMAGE=node:22-slim
FROM ${BASE_IMAGE}
ARG NPM_REGISTRY=https://registry.npmjs.org/
USER root
# The extra CAs go in before anything is downloaded (TLS-inspecting networks).
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN set -eux; \
    if [ "$(id -u node 2>/dev/null)" != 1000 ]; then \
      echo "BASE_IMAGE must have user node with uid 1000" >&2; exit 1; \
    fi; \
    if command -v update-ca-certificates >/dev/null; then update-ca-certificates; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      bash git ca-certificates curl procps ripgrep; \
    rm -rf /var/lib/apt/lists/*; \
    update-ca-certificates; \
    install -d -o node -g node /home/node/workspace
RUN set -eux; \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install -g --no-fund --no-audit \
      --no-update-notifier --registry "${NPM_REGISTRY}" @openai/codex@0.171.0; \
    rm -rf /root/.npm; \
    codex --version
USER node
WORKDIR /home/node/workspace
CMD ["sleep", "infinity"]
