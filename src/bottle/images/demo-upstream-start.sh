# Entry point of the demo upstream: sshd (it detaches once it listens), then the HTTPS server in
# the foreground. The demo waits for /tmp/demo-upstream/ready, which the server writes on listen.
set -e
mkdir -p /run/sshd /tmp/demo-upstream
/usr/sbin/sshd -e
exec deno run --quiet --no-prompt --allow-net=0.0.0.0:443 --allow-read=/etc/demo-upstream \
  --allow-write=/tmp/demo-upstream /opt/demo-upstream/server.ts
