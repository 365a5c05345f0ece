#!/usr/bin/env bash
# Sets up a Debian machine (as root) for developing and testing bot-bottle: installs Deno
# (pinned, from npm), docker.io, mmdebstrap, git and chromium (the dashboard browser test)
# when missing, starts dockerd, installs gitleaks, and builds the offline base images.
# Idempotent; a second run only checks.
# Usage: sudo bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
export DENO_NO_UPDATE_CHECK=1

DENO_VERSION=2.9.6
GITLEAKS_VERSION=v8.30.1
DOCKER_SOCKET=/var/run/docker.sock
DOCKERD_LOG=/var/log/bot-bottle-dockerd.log
# The host's extra CA certificates (TLS-inspecting networks) are trusted by image builds
# and the sidecar through the product's own setting, BOT_BOTTLE_EXTRA_CA_CERTS.
if [[ -z "${BOT_BOTTLE_EXTRA_CA_CERTS:-}" ]] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  export BOT_BOTTLE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates
fi

started=$SECONDS
step() { echo "[setup $((SECONDS - started))s] $*"; }
if [[ $(id -u) != 0 ]]; then
  echo "scripts/setup.sh: error: run as root (it installs packages and starts dockerd)" >&2
  exit 2
fi

apt_updated=0
apt_install() {
  if [[ $apt_updated == 0 ]]; then
    step "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  step "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Deno, pinned, from the npm registry.
if ! command -v deno >/dev/null || [[ "$(deno --version | head -n1)" != "deno ${DENO_VERSION} "* ]]; then
  step "installing deno ${DENO_VERSION} from npm"
  npm install -g --silent "deno@${DENO_VERSION}"
fi
step "$(deno --version | head -n1)"

# 2. Debian packages.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v git >/dev/null || missing+=(git)
command -v curl >/dev/null || missing+=(curl)
command -v script >/dev/null || missing+=(bsdutils)
command -v ps >/dev/null || missing+=(procps)
command -v chromium >/dev/null || missing+=(chromium) # the dashboard's browser test
if ((${#missing[@]} > 0)); then apt_install "${missing[@]}"; fi

# 3. dockerd.
engine_up() { curl -fsS --max-time 2 --unix-socket "$DOCKER_SOCKET" http://engine/_ping >/dev/null 2>&1; }
if ! engine_up; then
  step "starting dockerd (log: $DOCKERD_LOG)"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
  if ! engine_up; then
    echo "[ci] dockerd did not answer on $DOCKER_SOCKET within 60 s; last log lines:"
    tail -n 30 "$DOCKERD_LOG" || true
    false
  fi
fi
step "engine $(curl -fsS --unix-socket "$DOCKER_SOCKET" http://engine/version | sed -E 's/.*"Version":"([^"]*)".*"ApiVersion":"([^"]*)".*/\1 (API \2)/')"

# 4. gitleaks, the real one, static and with its version stamped.
if ! command -v gitleaks >/dev/null || [[ "$(gitleaks version 2>/dev/null)" != "${GITLEAKS_VERSION}" ]]; then
  step "installing gitleaks ${GITLEAKS_VERSION} with go install"
  CGO_ENABLED=0 GOBIN=/usr/local/bin go install \
    -ldflags "-X github.com/zricethezav/gitleaks/v8/version.Version=${GITLEAKS_VERSION}" \
    "github.com/zricethezav/gitleaks/v8@${GITLEAKS_VERSION}"
fi
step "gitleaks $(gitleaks version)"

# 5. Offline base images (only those missing are built).
step "offline base images"
deno task --quiet images --gitleaks "$(command -v gitleaks)"
step "ready: run \`deno task test\` (set BOT_BOTTLE_EXTRA_CA_CERTS=${BOT_BOTTLE_EXTRA_CA_CERTS:-} for image builds)"
