#!/usr/bin/env python3
"""examples/predict.c against the installed library, as a user builds it.

usage: test_predict.py MESON BUILD_DIR SOURCE_DIR [CFLAGS]

Installs the build into a temporary folder (meson install --destdir),
compiles examples/predict.c with cc and `pkg-config --cflags --libs qsdc`
from that install, writes a tiny IDX task (8x8 images, 3 separable classes,
as tests/cli_fixture.h's), trains a checkpoint on it with the installed
qsdc, runs the example on the test images with the installed libqsdc.so and
checks its accuracy against `qsdc eval` of the same checkpoint.
QSDC_TEST_DEVICE, when set, picks the device. CFLAGS (one argument, split
at spaces) go to cc: a sanitizer build's -fsanitize=... .
"""
import gzip
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile

SIDE, CLASSES, TRAIN_N, TEST_N = 8, 3, 480, 96


def run(cmd, env=None, what=None):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{what or cmd[0]} failed with {p.returncode}:\n"
                 f"$ {shlex.join(map(str, cmd))}\n{p.stdout}{p.stderr}")
    return p.stdout


def lcg(state):
    state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
    return state, state >> 33


def idx_images(n, seed):
    """Class i % 3 lights rows 3k and 3k+1 over a dark background."""
    out = bytearray(struct.pack(">IIII", 0x803, n, SIDE, SIDE))
    s = seed
    for i in range(n):
        band = 3 * (i % CLASSES)
        for r in range(SIDE):
            for _ in range(SIDE):
                s, u = lcg(s)
                out.append(160 + u % 96 if r in (band, band + 1) else u % 64)
    return bytes(out)


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % CLASSES for i in range(n))


def write_task(d):
    paths = {}
    for name, data in [("train-images.idx.gz", idx_images(TRAIN_N, 1)),
                       ("train-labels.idx", idx_labels(TRAIN_N)),
                       ("test-images.idx", idx_images(TEST_N, 2)),
                       ("test-labels.idx", idx_labels(TEST_N))]:
        paths[name] = os.path.join(d, name)
        with (gzip.open if name.endswith(".gz") else open)(paths[name], "wb") as f:
            f.write(data)
    model = os.path.join(d, "tiny.yaml")
    with open(model, "w") as f:
        f.write(f"""name: tiny
input: {{shape: [1, {SIDE}, {SIDE}]}}
layers:
  - flatten
  - {{op: dense, units: 32}}
  - relu
  - {{op: qsd, p: 0.5, sites: 2, q_cv: 0.3}}
  - {{op: dense, units: {CLASSES}}}
  - softmax
train:
  data:
    train_images: {paths["train-images.idx.gz"]}
    train_labels: {paths["train-labels.idx"]}
    test_images: {paths["test-images.idx"]}
    test_labels: {paths["test-labels.idx"]}
  batch: 16
  epochs: 2
  seed: 7
  val_split: 0.1
  optimizer: {{type: sgd, lr: 0.1, momentum: 0.9}}
""")
    return model, paths["test-images.idx"], paths["test-labels.idx"]


def installed(dest):
    """The installed qsdc.pc, the prefix it names, and that prefix under dest."""
    for root, _, files in os.walk(dest):
        if "qsdc.pc" in files:
            pc = os.path.join(root, "qsdc.pc")
            with open(pc) as f:
                prefix = re.search(r"^prefix=(.*)$", f.read(), re.M).group(1)
            return pc, dest + prefix
    sys.exit(f"meson install put no qsdc.pc under {dest}")


def accuracy_line(out, what):
    m = re.search(r"^accuracy: .*$", out, re.M)
    if not m:
        sys.exit(f"{what} printed no accuracy line:\n{out}")
    return m.group(0)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    meson, build, source = sys.argv[1:4]
    cflags = sys.argv[4].split() if len(sys.argv) == 5 else []
    with tempfile.TemporaryDirectory(prefix="qsdc-example-") as tmp:
        dest = os.path.join(tmp, "dest")
        run([meson, "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
        pc, prefix = installed(dest)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc))
        # the .pc names the final prefix; the staged copy lives under dest
        flags = run(["pkg-config", f"--define-variable=prefix={prefix}", "--cflags", "--libs",
                     "qsdc"], env=env).split()
        libdir = next(f[2:] for f in flags if f.startswith("-L"))
        if not os.path.exists(os.path.join(libdir, "libqsdc.so")):
            sys.exit(f"pkg-config's -L{libdir} holds no libqsdc.so: {flags}")
        exe = os.path.join(tmp, "predict")
        run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror"] + cflags +
            [os.path.join(source, "examples", "predict.c")] + flags + ["-o", exe])

        model, images, labels = write_task(tmp)
        ckpt = os.path.join(tmp, "ckpt")
        qsdc = os.path.join(prefix, "bin", "qsdc")
        dev = os.environ.get("QSDC_TEST_DEVICE")
        dev_opt = ["--device", dev] if dev else []
        run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        run_env.setdefault("QSDC_CACHE_DIR", os.path.join(build, "test-cl-cache"))
        run([qsdc, "train", model, "--checkpoint", ckpt] + dev_opt, env=run_env)
        ldd = run(["ldd", exe], env=run_env)
        if os.path.join(libdir, "libqsdc.so") not in ldd:
            sys.exit(f"{exe} does not load the installed libqsdc.so:\n{ldd}")
        out = run([exe, model, ckpt, images, labels] + ([dev] if dev else []), env=run_env,
                  what="the example")
        print(out, end="")
        got = accuracy_line(out, "the example")
        want = accuracy_line(run([qsdc, "eval", model, "--checkpoint", ckpt] + dev_opt,
                                 env=run_env), "qsdc eval")
        if got != want:
            sys.exit(f"the example says \"{got}\", qsdc eval \"{want}\"")
        pct = float(re.match(r"accuracy: ([0-9.]+)%", got).group(1))
        if pct < 90:
            sys.exit(f"{got}: a checkpoint trained on the separable task should exceed 90%")
        # an error is a message and a status, not a crash
        p = subprocess.run([exe, model, os.path.join(tmp, "no-ckpt"), images, labels],
                           env=run_env, capture_output=True, text=True)
        if p.returncode != 1 or "predict: opening the model: " not in p.stderr:
            sys.exit(f"a missing checkpoint: status {p.returncode}, stderr:\n{p.stderr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
