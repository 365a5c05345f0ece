# bot-bottle sidecar (SPEC §6.4, §6.6): the official gitleaks image supplies the binary; the
# runtime is the official Deno Debian image plus Debian git and openssh-client, and the sidecar
# sources (context dir sidecar/, the src/sidecar tree). Built by src/bottle/image_build.ts with the
# classic builder; `extra-ca/` holds BOT_BOTTLE_EXTRA_CA_CERTS (possibly nothing).
ARG GITLEAKS_IMAGE=zricethezav/gitleaks:v8.30.1
ARG DENO_IMAGE=denoland/deno:debian-2.9.6

FROM ${GITLEAKS_IMAGE} AS gitleaks

FROM ${DENO_IMAGE}
USER root
# The extra CAs go in before anything is downloaded (TLS-inspecting networks).
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN set -eux; \
    if command -v update-ca-certificates >/dev/null; then update-ca-certificates; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      git openssh-client ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    update-ca-certificates; \
    id -u deno
COPY --from=gitleaks /usr/bin/gitleaks /usr/bin/gitleaks
COPY sidecar/ /opt/bot-bottle/sidecar/
RUN set -eux; \
    gitleaks version; \
    install -d -o deno -g deno /srv/bot-bottle-config /git; \
    install -d -m 0700 -o deno -g deno /run/bot-bottle
ENV DENO_NO_UPDATE_CHECK=1 DENO_DIR=/deno-dir/
USER deno
# Cache (download and type-strip) the sidecar now, so a start needs no network and no
# transpiling; DENO_CERT makes the download trust the system bundle with the extra CAs.
# Then load every module once without running main (it only runs as the entry point), so V8's
# code cache is in the image too: each sidecar start would otherwise compile it all again
# (measured: 169 ms to load the sidecar's modules without the cache, 80 ms with it). main.ts
# loads each subcommand's modules when it runs, so those are imported here by name.
RUN if [ -f /opt/bot-bottle/sidecar/main.ts ]; then \
      DENO_CERT=/etc/ssl/certs/ca-certificates.crt deno cache /opt/bot-bottle/sidecar/main.ts; \
      for m in main init log control/bridge control/emit git_gate/hook_client; do \
        if [ -f "/opt/bot-bottle/sidecar/$m.ts" ]; then \
          echo "import \"/opt/bot-bottle/sidecar/$m.ts\";"; \
        fi; \
      done > /tmp/warm.ts; \
      deno run --quiet --no-prompt --allow-all /tmp/warm.ts; \
      rm /tmp/warm.ts; \
    fi
ENTRYPOINT ["deno", "run", "--quiet", "--no-prompt", "--allow-net", "--allow-read", \
  "--allow-write=/run/bot-bottle,/srv/bot-bottle-config,/git,/tmp", "--allow-env", \
  "--allow-sys", "--allow-run", "/opt/bot-bottle/sidecar/main.ts"]
