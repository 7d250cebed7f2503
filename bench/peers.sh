# shellcheck shell=bash
# Sourced by scripts/bench and the throughput benchmarks (bench/throughput.sh,
# bench/lstm.sh): the peers qsdc is timed against, and the virtual
# environments of those not in Debian. Defines functions; runs nothing.
#
# Peers, in table order: torch-1.13 is Debian's python3-torch under
# /usr/bin/python3; torch-2 and torch-2-compile run the same bench/NET_torch.py
# with PyTorch 2.x from PyPI, eager and with --compile (torch.compile);
# jax runs bench/NET_jax.py with jax[cpu] from PyPI. The PyPI peers live in
# virtual environments under QSDC_PEERS_DIR (default ~/.cache/qsdc/peers),
# which peers_setup makes once (downloading through pip) and every later run
# reuses; the benchmarks themselves never download.

QSDC_PEERS_DIR="${QSDC_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qsdc/peers}"
PEERS=(torch-1.13 torch-2 torch-2-compile jax)

# peer_venv_packages VENV: what pip installs into the virtual environment
# VENV (torch2 or jax). PyPI has no CPU-only torch wheel (that one is on
# download.pytorch.org), so torch2 gets PyPI's default wheel.
peer_venv_packages() {
  case "$1" in
    torch2) echo "torch>=2 numpy" ;;
    jax) echo "jax[cpu] numpy" ;;
  esac
}

# peers_setup: makes each missing virtual environment with /usr/bin/python3
# (the one whose headers torch.compile's C++ needs) and installs its
# packages; an environment counts as made once its .ready file is written.
# A failed install is logged in QSDC_PEERS_DIR/VENV.log and left unmade (its
# peer's column then says so; the next run tries again). Always returns 0.
peers_setup() {
  local venv dir
  mkdir -p "$QSDC_PEERS_DIR"
  for venv in torch2 jax; do
    dir="$QSDC_PEERS_DIR/$venv"
    [ -e "$dir/.ready" ] && continue
    echo "peers: making $dir (pip install $(peer_venv_packages "$venv")), log in $dir.log" >&2
    rm -rf "$dir"
    # shellcheck disable=SC2046 # the package list splits into words
    if /usr/bin/python3 -m venv "$dir" >"$dir.log" 2>&1 &&
      "$dir/bin/pip" install --no-input $(peer_venv_packages "$venv") >>"$dir.log" 2>&1; then
      "$dir/bin/pip" freeze >"$dir/.ready"
    else
      echo "peers: installing $venv failed (see $dir.log); its columns will say 'no-venv'" >&2
    fi
  done
  return 0
}

# peer_command PEER NET: the command line that runs PEER's script for NET
# (mlp, cnn or lstm), without its REG and options; nothing (status 1) where
# PEER's virtual environment is not made.
peer_command() {
  local torch2="$QSDC_PEERS_DIR/torch2" jax="$QSDC_PEERS_DIR/jax"
  case "$1" in
    torch-1.13) echo "/usr/bin/python3 bench/$2_torch.py" ;;
    torch-2) [ -e "$torch2/.ready" ] && echo "$torch2/bin/python bench/$2_torch.py" ;;
    torch-2-compile) [ -e "$torch2/.ready" ] && echo "$torch2/bin/python bench/$2_torch.py --compile" ;;
    jax) [ -e "$jax/.ready" ] && echo "$jax/bin/python bench/$2_jax.py" ;;
  esac
}

# peer_rates NET REG STEPS LOGDIR: runs every peer of PEERS on NET with REG
# for STEPS timed steps, one after the other (their output to stderr and
# LOGDIR/PEER_REG), and prints their rates on one line, in PEERS' order: the
# number of each one's `FRAMEWORK REG: RATE samples/s` (or tokens/s) line,
# `no-venv` where its environment is missing and `failed` where it ran
# without such a line. Returns 1 where Debian's PyTorch failed (it is always
# there), 0 otherwise: the PyPI peers are optional.
peer_rates() {
  local net="$1" reg="$2" steps="$3" logs="$4" peer cmd rate rates=() status=0
  for peer in "${PEERS[@]}"; do
    if ! cmd="$(peer_command "$peer" "$net")"; then
      echo "== $peer: no virtual environment in $QSDC_PEERS_DIR (scripts/bench makes it)" >&2
      rates+=(no-venv)
      continue
    fi
    echo "== $peer, $reg: $cmd $reg --steps $steps" >&2
    # shellcheck disable=SC2086 # cmd is an interpreter and a script
    $cmd "$reg" --steps "$steps" 2>&1 | tee "$logs/${peer}_$reg" >&2 || true
    rate="$(sed -n "s/^[a-z]* $reg: \([0-9.]*\) [a-z]*\/s .*/\1/p" "$logs/${peer}_$reg" | head -n 1)"
    if [ -z "$rate" ]; then
      rate=failed
      [ "$peer" != torch-1.13 ] || status=1
    fi
    rates+=("$rate")
  done
  echo "${rates[*]}"
  return "$status"
}

# peer_table UNIT [OPTION...]: bench/peer_table.py with PEERS as its columns,
# reading "REG QSDC PEER_RATES" rows from standard input.
peer_table() {
  local unit="$1" IFS=,
  shift
  /usr/bin/python3 bench/peer_table.py --unit "$unit" --peers "${PEERS[*]}" "$@"
}

# qsdc_warm MODEL [QSDC_TRAIN_OPTION...]: one untimed training step of MODEL,
# as the peers' untimed warm-up steps, so that the timed run finds qsdc's
# tuning and program caches and pocl's kernel cache filled; qsdc's timed
# count includes its first step, which on cold caches holds the compiling
# (about 10 s of the language model's 50-step run from a clean clone).
qsdc_warm() {
  local model="$1"
  shift
  build/qsdc train "$model" --max-steps 1 --epochs 1 "$@" >/dev/null 2>&1 || true
}
