# A test upstream for git-gate: OpenSSH and git on Debian bookworm. Bare repositories live in
# /srv/git (home of user `git`, uid 1500, login shell git-shell), so
# `git clone ssh://git@HOST:PORT/srv/git/NAME.git` works. Public keys only; the authorized key
# of user U is read from /etc/ssh/authorized_keys/U, which the test helper uploads
# (tests/helpers/git_upstream.ts). No key is baked in: the ed25519 host key is generated at
# container start, before sshd runs, and the helper reads its public half from the container.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server git; \
    rm -rf /var/lib/apt/lists/*; \
    rm -f /etc/ssh/ssh_host_*; \
    grep -qx /usr/bin/git-shell /etc/shells || echo /usr/bin/git-shell >> /etc/shells; \
    groupadd --gid 1500 git; \
    useradd --uid 1500 --gid git --home-dir /srv/git --create-home --shell /usr/bin/git-shell git; \
    usermod --password '*' git; \
    install -d -m 0755 -o root -g root /etc/ssh/authorized_keys /run/sshd; \
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
      'LogLevel VERBOSE' \
      'PidFile /run/sshd.pid' \
      > /etc/ssh/sshd_config; \
    rm -rf /etc/ssh/sshd_config.d; \
    git config --system init.defaultBranch main; \
    git --version; ssh -V
EXPOSE 22
CMD ["/bin/sh", "-c", "set -e; mkdir -p /run/sshd; [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -C '' -f /etc/ssh/ssh_host_ed25519_key; exec /usr/sbin/sshd -D -e"]
