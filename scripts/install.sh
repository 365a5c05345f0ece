#!/bin/sh
# Installs the bot-bottle binary for this machine from a release directory.
#
#   sh install.sh --url <release URL> [--dir <directory>]
#   curl -fsSL <release URL>/install.sh | sh -s -- --url <release URL>
#
# The release directory holds what `deno task compile:all` writes to dist/: one binary per target,
# bot-bottle-<target>, and SHA256SUMS. The script picks the target from `uname -s` and `uname -m`,
# downloads the binary and SHA256SUMS, checks the binary's SHA-256 against its line there, and only
# then installs it as <directory>/bot-bottle (default ~/.local/bin). A checksum that does not match,
# or a binary with no line in SHA256SUMS, installs nothing and exits 1.
#
# Options (or variables):
#   --url URL    (BOT_BOTTLE_RELEASE_URL)   the release directory, http(s):// or file://
#   --dir DIR    (BOT_BOTTLE_INSTALL_DIR)   where to put bot-bottle; created if missing
set -eu

url="${BOT_BOTTLE_RELEASE_URL:-}"
dir="${BOT_BOTTLE_INSTALL_DIR:-${HOME:-}/.local/bin}"

usage() {
  cat <<'EOF'
Usage: install.sh --url <release URL> [--dir <directory>]

Downloads bot-bottle-<target> for this machine and SHA256SUMS from the release URL, checks the
SHA-256, and installs the binary as <directory>/bot-bottle (default ~/.local/bin).
  --url URL   the release directory (or BOT_BOTTLE_RELEASE_URL)
  --dir DIR   where to install (or BOT_BOTTLE_INSTALL_DIR)
EOF
}

fail() {
  echo "bot-bottle install: error: $1" >&2
  if [ -n "${2:-}" ]; then echo "  hint: $2" >&2; fi
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --url) [ $# -ge 2 ] || fail "--url needs a value"; url="$2"; shift 2 ;;
    --url=*) url="${1#--url=}"; shift ;;
    --dir) [ $# -ge 2 ] || fail "--dir needs a value"; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown argument \"$1\"" "Run with --help for usage" ;;
  esac
done

[ -n "$url" ] || fail "no release URL" "Pass --url <release directory> or set BOT_BOTTLE_RELEASE_URL"
[ -n "$dir" ] || fail "no install directory" "Pass --dir <directory> or set HOME"
url="${url%/}"

os="$(uname -s)"
arch="$(uname -m)"
case "$os" in
  Linux) os_part="unknown-linux-gnu" ;;
  Darwin) os_part="apple-darwin" ;;
  *) fail "no bot-bottle binary for the operating system \"$os\"" "Binaries exist for Linux and macOS" ;;
esac
case "$arch" in
  x86_64 | amd64) arch_part="x86_64" ;;
  aarch64 | arm64) arch_part="aarch64" ;;
  *) fail "no bot-bottle binary for the CPU \"$arch\"" "Binaries exist for x86_64 and arm64" ;;
esac
asset="bot-bottle-${arch_part}-${os_part}"

download() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=https,http,file' -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    fail "cannot download: neither curl nor wget is installed" "Install curl"
  fi
}

sha256() { # FILE
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "cannot check the download: neither sha256sum nor shasum is installed" "Install coreutils"
  fi
}

mkdir -p "$dir" || fail "cannot create the directory \"$dir\""
tmp="$(mktemp -d "${TMPDIR:-/tmp}/bot-bottle-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

download "$url/SHA256SUMS" "$tmp/SHA256SUMS" ||
  fail "cannot download \"$url/SHA256SUMS\"" "Check the release URL"
download "$url/$asset" "$tmp/$asset" ||
  fail "cannot download \"$url/$asset\"" "Check the release URL; this release may not have $asset"

expected="$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] ||
  fail "SHA256SUMS has no checksum for \"$asset\": nothing installed" "The release is incomplete"
actual="$(sha256 "$tmp/$asset")"
expected="$(printf '%s' "$expected" | tr 'A-F' 'a-f')"
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for \"$asset\": expected $expected, got $actual; nothing installed" \
    "The download is corrupt or was tampered with; try again, or check the release"
fi

chmod 755 "$tmp/$asset"
# Copy next to the target, then rename: a running bot-bottle is never overwritten in place.
staged="$dir/.bot-bottle.new.$$"
cp "$tmp/$asset" "$staged" || { rm -f "$staged"; fail "cannot write to \"$dir\""; }
mv -f "$staged" "$dir/bot-bottle" || { rm -f "$staged"; fail "cannot write \"$dir/bot-bottle\""; }
echo "installed $asset (sha256 $actual) as $dir/bot-bottle"
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH; add it, or run $dir/bot-bottle" ;;
esac
