# Offline stand-in for the official node:22-slim: Debian bookworm + the Node.js binary and
# npm as published on the npm registry (node-linux-<arch>, npm). Keeps user node (uid 1000).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
ADD node.tgz /opt/node-dist/
ADD npm.tgz /opt/npm-dist/
RUN set -eux; \
    mv /opt/node-dist/package/bin/node /usr/local/bin/node; \
    mkdir -p /usr/local/lib/node_modules; \
    mv /opt/npm-dist/package /usr/local/lib/node_modules/npm; \
    rm -rf /opt/node-dist /opt/npm-dist; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \
    groupadd --gid 1000 node; \
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \
    node --version; npm --version
ENV NODE_VERSION=${NODE_VERSION}
CMD ["node"]
