# Shared by the scripts (test, demo, fuzz, ...): package installation, meson
# builds and fuzzing runs.
# Source it; it defines functions and QSDC_ROOT, and runs nothing by itself.

QSDC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages needed to build qsdc, run it and train (scripts/demo
# installs these alone; protobuf-c and libonnx-dev's onnx.proto make qsdc
# export's ONNX encoder).
QSDC_PACKAGES=(build-essential pkg-config meson ninja-build ocl-icd-opencl-dev
  opencl-c-headers pocl-opencl-icd libclblast-dev libyaml-dev libcmocka-dev
  librandom123-dev zlib1g-dev libzip-dev libpng-dev python3 clinfo gnuplot-nox
  libopenmpi-dev openmpi-bin protobuf-c-compiler libprotobuf-c-dev libonnx-dev)
# And those scripts/test needs besides: the Python venv, oclgrind, clang's
# fuzzing runtime, Mesa's OpenCL (the second implementation), and
# python3-torch (PyTorch 1.13 in the system Python) with python3-pytest:
# tests/python/test_torch_interop.py checks qsdc against real PyTorch. Torch
# downloads about 150 MB and takes about 630 MB on disk, where a PyPI wheel
# would take several GB.
QSDC_TEST_PACKAGES=(python3-venv oclgrind clang libclang-rt-14-dev mesa-opencl-icd
  python3-torch python3-pytest)

qsdc_log() { printf '==> %s\n' "$*" >&2; }

# The Python package (pyproject.toml) installed the way the README says,
# `pip install .`, into the virtual environment build/python-venv, with
# numpy, pytest and meson-python from PyPI; the wheel's meson build stays in
# build-python for the next run. First the checks against PyTorch
# (qsdc_torch_tests), which leave the models torch.onnx.export wrote in
# build/torch-onnx; then the package's tests (tests/python), which also run
# the qsdc command of build/, and with onnx and onnxruntime from PyPI check
# qsdc export, qsdc's ONNX import and those torch-written models against
# ONNX Runtime. Outside CI a check whose tools cannot be had is skipped,
# saying why; with CI=true a skip fails the step.
qsdc_python_tests() {
  local venv="$QSDC_ROOT/build/python-venv" status=0 log
  export QSDC_TORCH_ONNX_DIR="$QSDC_ROOT/build/torch-onnx"
  rm -rf "$QSDC_TORCH_ONNX_DIR" && mkdir -p "$QSDC_TORCH_ONNX_DIR"
  qsdc_torch_tests || status=1
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || return 1
  fi
  if ! "$venv/bin/pip" install -q onnx onnxruntime; then
    qsdc_log "onnx and onnxruntime could not be installed: the ONNX checks will be skipped"
    [ "${CI:-}" = true ] && status=1
  fi
  log="$QSDC_ROOT/build/python-tests.log"
  rm -f "$log"
  "$venv/bin/pip" install -q meson-python meson ninja numpy pytest &&
    "$venv/bin/pip" install -q --no-build-isolation -Cbuild-dir="$QSDC_ROOT/build-python" \
      "$QSDC_ROOT" &&
    (cd "$QSDC_ROOT/tests/python" &&
      QSDC_EXE="$QSDC_ROOT/build/qsdc" QSDC_SOURCE_ROOT="$QSDC_ROOT" \
        "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider \
          --ignore=test_torch_interop.py) 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  if [ "${CI:-}" = true ] && grep -qs "skipped" "$log"; then
    qsdc_log "Python tests were skipped in CI (the reasons are above): that is a failure here"
    status=1
  fi
  return "$status"
}

# tests/python/test_torch_interop.py with Debian's PyTorch, which only the
# system Python (/usr/bin/python3) imports, not the virtual environment:
# models exported by torch.onnx.export run by qsdc predict, and qsdc's .npz
# weights loaded into torch.nn models, against torch's forward pass. Uses
# only the qsdc command. Skipped, saying why, where that Python has no
# torch or pytest (a failure with CI=true).
qsdc_torch_tests() {
  local py=/usr/bin/python3
  if ! "$py" -c 'import torch, numpy, pytest' 2>/dev/null; then
    qsdc_log "$py cannot import torch, numpy and pytest (apt-get install python3-torch python3-pytest): qsdc is not checked against PyTorch"
    [ "${CI:-}" = true ] && return 1
    return 0
  fi
  (cd "$QSDC_ROOT/tests/python" &&
    QSDC_EXE="$QSDC_ROOT/build/qsdc" "$py" -m pytest -q -p no:cacheprovider \
      test_torch_interop.py)
}

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

# The libFuzzer harnesses (tests/fuzz/fuzz_NAME.c) as NAME:MAX_LEN, the
# longest input each is given.
QSDC_FUZZ_TARGETS=(checkpoint:1024 cifar:8192 idx:1024 model:4096 plan:8192 result:16384
  text:4096 npy:1024 npz:2048 png:2048 table:2048 text_lines:2048 feature_stats:1024)

# qsdc_fuzz_build: configures build-fuzz with clang and -Dfuzz=true and builds
# the harnesses (and the library they link) only.
qsdc_fuzz_build() {
  local spec targets=()
  for spec in "${QSDC_FUZZ_TARGETS[@]}"; do targets+=("fuzz_${spec%%:*}"); done
  CC=clang qsdc_configure build-fuzz -Dfuzz=true -Dwerror=true >/dev/null
  meson compile -C "$QSDC_ROOT/build-fuzz" -j "${QSDC_JOBS:-$(nproc)}" "${targets[@]}"
}

# qsdc_fuzz_run NAME MAX_LEN SECONDS: runs build-fuzz's fuzz_NAME for SECONDS
# on its seeds (tests/fuzz/corpus/NAME, read only) and its working corpus
# (build-fuzz/fuzz-corpus/NAME, kept between runs), with the dictionary
# tests/fuzz/NAME.dict when there is one. Prints one line with the
# execution count; on a crash, leak or sanitizer report prints the report's
# end and the reproducer's path, and fails.
qsdc_fuzz_run() {
  local name="$1" max_len="$2" seconds="$3"
  local dir="$QSDC_ROOT/build-fuzz"
  local corpus="$dir/fuzz-corpus/$name" art="$dir/fuzz-artifacts/$name"
  local log="$dir/fuzz-logs/$name.log"
  mkdir -p "$corpus" "$art" "$(dirname "$log")"
  local rc=0 dict=()
  if [ -f "$QSDC_ROOT/tests/fuzz/$name.dict" ]; then
    dict=(-dict="$QSDC_ROOT/tests/fuzz/$name.dict")
  fi
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
    "$corpus" "$QSDC_ROOT/tests/fuzz/corpus/$name" >"$log" 2>&1 || rc=$?
  local runs
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log" >&2
    printf 'fuzz_%s: FAILED (status %d) after %s executions; log %s, reproducer in %s\n' \
      "$name" "$rc" "${runs:-?}" "$log" "$art" >&2
    return 1
  fi
  printf 'fuzz_%s: %s executions in %s s, no crash, leak or sanitizer report\n' \
    "$name" "$runs" "$seconds"
}

# qsdc_fuzz_all SECONDS: every harness of QSDC_FUZZ_TARGETS for SECONDS each,
# as many at once as there are cores (the runs are time-bound, so this is
# what shortens scripts/test), their lines printed in the list's order.
# Fails when any harness fails.
qsdc_fuzz_all() {
  local seconds="$1" out spec i=0 rc=0
  out="$(mktemp -d)"
  for spec in "${QSDC_FUZZ_TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
    (qsdc_fuzz_run "${spec%%:*}" "${spec##*:}" "$seconds" >"$out/$i" 2>&1 ||
      echo failed >"$out/$i.failed") &
    i=$((i + 1))
  done
  wait
  for ((i = 0; i < ${#QSDC_FUZZ_TARGETS[@]}; i++)); do
    cat "$out/$i"
    if [ -e "$out/$i.failed" ]; then rc=1; fi
  done
  rm -rf "$out"
  return "$rc"
}
