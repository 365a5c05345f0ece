#!/usr/bin/env bash
# Installs the peers of the egress benchmark (scripts/bench/egress.ts), idempotently, under
# ~/.cache/bot-bottle-bench (override with BOT_BOTTLE_BENCH_CACHE), and prints their versions:
#
# - mitmproxy, pinned, with pip into a venv (mitmdump at <cache>/mitmproxy/bin/mitmdump);
#   12.x needs Python >= 3.12, so an older interpreter gets the last 11.x release;
# - pipelock, pinned, with `go install` (binary at <cache>/bin/pipelock), or built with
#   `go build ./cmd/pipelock` from a checkout named by PIPELOCK_SRC. When the Go module proxy
#   refuses the module, the script says so and goes on: the benchmark then reports pipelock as
#   not measured. (pipelock reads its CA key in the SEC1 form, `EC PRIVATE KEY`; egress.ts
#   writes it so: Go's parser refuses PKCS#8 there.)
#
# Go and Python are used here only to install these tools. Exit code 0 when mitmproxy is
# installed (pipelock is optional), 1 otherwise.
set -uo pipefail

MITMPROXY_VERSION="12.3.1"          # needs Python >= 3.12
MITMPROXY_VERSION_PY311="11.0.2"    # last release for Python 3.10/3.11
PIPELOCK_MODULE="github.com/luckyPipewrench/pipelock/v3/cmd/pipelock"
PIPELOCK_VERSION="v3.5.0"

CACHE="${BOT_BOTTLE_BENCH_CACHE:-$HOME/.cache/bot-bottle-bench}"
mkdir -p "$CACHE/bin"
status=0

# --- mitmproxy -------------------------------------------------------------------------------
pick_python() {
  local candidate root=""
  root="$(pyenv root 2>/dev/null || true)"
  # pyenv shims answer for every installed version only when that version is active, so ask
  # for the interpreters directly too.
  for candidate in python3.13 python3.12 \
    ${root:+"$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3} python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

VENV="$CACHE/mitmproxy"
if python="$(pick_python)"; then
  if "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    want="$MITMPROXY_VERSION"
  else
    want="$MITMPROXY_VERSION_PY311"
  fi
  have="$("$VENV/bin/python" -c 'import mitmproxy.version as v; print(v.VERSION)' 2>/dev/null || true)"
  if [[ "$have" != "$want" ]]; then
    echo "egress_peers: installing mitmproxy $want into $VENV ($("$python" --version 2>&1))"
    rm -rf "$VENV"
    if "$python" -m venv "$VENV" &&
      "$VENV/bin/pip" install --quiet --disable-pip-version-check "mitmproxy==$want"; then
      :
    else
      echo "egress_peers: mitmproxy install failed" >&2
      status=1
    fi
  fi
  if [[ -x "$VENV/bin/mitmdump" ]]; then
    echo "mitmproxy: $("$VENV/bin/mitmdump" --version 2>/dev/null | head -1) ($VENV/bin/mitmdump)"
  else
    status=1
  fi
else
  echo "egress_peers: no python3 >= 3.10 with venv found; mitmproxy not installed" >&2
  status=1
fi

# --- pipelock --------------------------------------------------------------------------------
PIPELOCK_BIN="$CACHE/bin/pipelock"
stamp="$CACHE/bin/pipelock.version"
if [[ -n "${PIPELOCK_SRC:-}" ]]; then
  want="src:$(git -C "$PIPELOCK_SRC" rev-parse --short HEAD 2>/dev/null || echo "$PIPELOCK_SRC")"
  if [[ -x "$PIPELOCK_BIN" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    :
  elif out="$(cd "$PIPELOCK_SRC" && GOFLAGS=-buildvcs=false \
    timeout 900 go build -o "$PIPELOCK_BIN" ./cmd/pipelock 2>&1)"; then
    echo "$want" >"$stamp"
  else
    echo "egress_peers: pipelock not built from $PIPELOCK_SRC:" >&2
    echo "$out" | tail -3 | sed 's/^/  /' >&2
  fi
elif [[ -x "$PIPELOCK_BIN" && "$(cat "$stamp" 2>/dev/null)" == "$PIPELOCK_VERSION" ]]; then
  :
elif command -v go >/dev/null 2>&1; then
  echo "egress_peers: installing pipelock $PIPELOCK_VERSION ($PIPELOCK_MODULE)"
  if out="$(GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false \
    timeout 900 go install "$PIPELOCK_MODULE@$PIPELOCK_VERSION" 2>&1)"; then
    echo "$PIPELOCK_VERSION" >"$stamp"
  else
    echo "egress_peers: pipelock not installed: go install failed:" >&2
    echo "$out" | tail -3 | sed 's/^/  /' >&2
  fi
else
  echo "egress_peers: pipelock not installed: no go toolchain" >&2
fi
if [[ -x "$PIPELOCK_BIN" ]]; then
  echo "pipelock: $("$PIPELOCK_BIN" version 2>&1 | grep -m1 .) ($PIPELOCK_BIN)"
else
  echo "pipelock: not installed (the benchmark reports it as not measured)"
fi

exit "$status"
