#!/usr/bin/env bash
# Idempotent set-up behind `npm start` and `npm test`: installs what is missing on a fresh Debian
# or Ubuntu machine (Debian packages for the kernel path and the test peers, npm packages), builds
# the eBPF objects and the TypeScript. Each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# command -> Debian package providing it
declare -A want=(
  [clang]=clang
  [llc]=llvm
  [bpftool]=bpftool
  [ip]=iproute2
  [tc]=iproute2
  [nsenter]=util-linux
  [openssl]=openssl
  [promtool]=prometheus
  [tcpdump]=tcpdump
  [nginx]=nginx
  [curl]=curl
  [make]=make
  # deploy tests: `kubectl kustomize deploy/daemonset` (Debian's 1.20 client renders the base the
  # same as v1.32) and `vagrant validate`
  [kubectl]=kubernetes-client
  [vagrant]=vagrant
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
# nginx's stream module is the L4 mTLS peer in bench/l4
[ -e /usr/share/nginx/modules-available/mod-stream.conf ] || [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # the nginx package starts a system nginx on :80; we only use its binary
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  else
    log "missing Debian packages (${missing[*]}): run as root (sudo npm start / sudo npm test) to install them"
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log 'installing npm packages (npm ci)'
  npm ci --no-audit --no-fund >&2
fi

if command -v clang >/dev/null 2>&1 && [ -f bpf/Makefile ]; then
  make -s -C bpf >&2
fi

log 'building TypeScript'
node node_modules/typescript/bin/tsc -p tsconfig.build.json
