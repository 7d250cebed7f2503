# Shared by scripts/test and scripts/demo: package installation and meson builds.
# Source it; it defines functions and QSDC_ROOT, and runs nothing by itself.

QSDC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages needed to build qsdc and run its tests on pocl.
QSDC_PACKAGES=(build-essential pkg-config meson ninja-build ocl-icd-opencl-dev
  opencl-c-headers pocl-opencl-icd libclblast-dev libyaml-dev libcmocka-dev
  librandom123-dev zlib1g-dev python3 clinfo oclgrind gnuplot-nox)

qsdc_log() { printf '==> %s\n' "$*" >&2; }

# Runs a command as root: directly when we are root, else through sudo.
qsdc_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    qsdc_log "need root (or sudo) to run: $*"
    return 1
  fi
}

# Installs those of the given Debian packages that are not installed yet;
# does nothing (not even apt-get update) when all are there.
qsdc_install_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  qsdc_log "installing ${missing[*]}"
  qsdc_as_root apt-get update &&
    qsdc_as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}"
}

# qsdc_configure DIR [MESON_OPTION...]: sets up DIR, or reconfigures it with
# the given options when it is already a meson build directory.
qsdc_configure() {
  local dir="$1"
  shift
  if [ -f "$QSDC_ROOT/$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$QSDC_ROOT/$dir" "$QSDC_ROOT" "$@"
  else
    meson setup "$QSDC_ROOT/$dir" "$QSDC_ROOT" "$@"
  fi
}

# qsdc_compile DIR: builds with QSDC_JOBS parallel jobs (default: all cores).
qsdc_compile() {
  meson compile -C "$QSDC_ROOT/$1" -j "${QSDC_JOBS:-$(nproc)}"
}
