# The throwaway upstream of `bot-bottle demo` (SPEC §14.1): the "outside world" its bottle talks
# to, on the bottle's egress network only. The official Deno Debian image (DENO_IMAGE, the
# sidecar's runtime base, so the demo pulls nothing extra) plus Debian OpenSSH and git:
# - HTTPS on :443 (server.ts, from demo-upstream-server.ts): answers 200 only when the sidecar injected the demo's token;
# - SSH on :22 for user `git` (login shell git-shell), bare repository /srv/git/demo.git with one
#   commit on `main`.
# No key or certificate is baked in: the demo uploads the host key, the authorized key, the TLS
# certificate and the token into the container before it starts (src/demo/upstream.ts).
# Built by src/bottle/image_build.ts with the classic builder; `extra-ca/` holds
# BOT_BOTTLE_EXTRA_CA_CERTS (possibly nothing).
ARG DENO_IMAGE=denoland/deno:debian-2.9.6
FROM ${DENO_IMAGE}
USER root
# The extra CAs go in before anything is downloaded (TLS-inspecting networks).
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN set -eux; \
    if command -v update-ca-certificates >/dev/null; then update-ca-certificates; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openssh-server git ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    update-ca-certificates; \
    rm -f /etc/ssh/ssh_host_*; \
    grep -qx /usr/bin/git-shell /etc/shells || echo /usr/bin/git-shell >> /etc/shells; \
    groupadd --gid 1500 git; \
    useradd --uid 1500 --gid git --home-dir /srv/git --create-home --shell /usr/bin/git-shell git; \
    usermod --password '*' git; \
    install -d -m 0755 -o root -g root /etc/ssh/authorized_keys /run/sshd /etc/demo-upstream; \
    printf '%s\n' \
      'Port 22' \
      'HostKey /etc/ssh/ssh_host_ed25519_key' \
      'AuthorizedKeysFile /etc/ssh/authorized_keys/%u' \
      'PubkeyAuthentication yes' \
      'PasswordAuthentication no' \
      'KbdInteractiveAuthentication no' \
      'PermitRootLogin no' \
      'AllowUsers git' \
      'UsePAM no' \
      'StrictModes yes' \
      'AllowTcpForwarding no' \
      'X11Forwarding no' \
      'PrintMotd no' \
      'PidFile /run/sshd.pid' \
      > /etc/ssh/sshd_config; \
    rm -rf /etc/ssh/sshd_config.d; \
    work="$(mktemp -d)"; \
    git init -q -b main "$work"; \
    printf '# demo\n\nA repository of the bot-bottle demo.\n' > "$work/README.md"; \
    git -C "$work" add README.md; \
    git -C "$work" -c user.name='bot-bottle demo' -c user.email=demo@bot-bottle.test \
      commit -q -m 'Initial commit'; \
    git clone -q --bare "$work" /srv/git/demo.git; \
    rm -rf "$work"; \
    chown -R git:git /srv/git; \
    git --version; ssh -V
COPY server.ts start.sh /opt/demo-upstream/
EXPOSE 22 443
ENTRYPOINT ["/bin/sh", "/opt/demo-upstream/start.sh"]
CMD []
