#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora under tests/fuzz/corpus/<harness>/: small
valid inputs and a few edge cases each. The files are committed; rerun this
(with the qsdc command, for the plan seeds) when a format changes:

    tests/fuzz/make_corpus.py build/qsdc
"""
import glob
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def idx(dims, payload=None):
    """IDX uint8 bytes with the given dims; payload defaults to a ramp."""
    n = 1
    for x in dims:
        n *= x
    head = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims)
    return head + (payload if payload is not None else bytes(i % 256 for i in range(n)))


def idx_input(images, labels=None):
    """fuzz_idx's input: a flag byte, the images' length, then both files."""
    if labels is None:
        return b"\0" + images
    return b"\1" + struct.pack("<H", len(images)) + images + labels


def idx_seeds():
    img = idx([3, 2, 2])
    lab = idx([3], bytes([0, 1, 2]))
    put("idx", "images_labels", idx_input(img, lab))
    put("idx", "images_only", idx_input(idx([2, 5])))
    put("idx", "rank4", idx_input(idx([2, 2, 2, 2])))
    put("idx", "gzip", idx_input(gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)))
    put("idx", "truncated", idx_input(img[:-1], lab))
    put("idx", "trailing", idx_input(img + b"\0", lab))
    put("idx", "count_mismatch", idx_input(img, idx([2], bytes([0, 1]))))
    put("idx", "label_out_of_range", idx_input(img, idx([3], bytes([0, 200, 2]))))
    put("idx", "huge_dims", idx_input(bytes([0, 0, 8, 3]) + struct.pack(">III", 65535, 65535, 1)))
    put("idx", "float_type", idx_input(bytes([0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1]) + b"\0" * 4))


def cifar_record(label):
    """One CIFAR-10 binary record: the label byte, then 3x32x32 pixel bytes."""
    return bytes([label]) + bytes((label * 7 + i) % 256 for i in range(3 * 32 * 32))


def cifar_seeds():
    """fuzz_cifar's input: flags (two files, classes - 1), the first file's
    length when there are two, then the files."""
    two = cifar_record(3) + cifar_record(9)
    put("cifar", "one_file", bytes([9 << 1]) + two)
    put("cifar", "two_files", bytes([1 | 9 << 1]) + struct.pack("<H", len(two)) + two
        + cifar_record(0))
    put("cifar", "truncated", bytes([9 << 1]) + two[:-5])
    put("cifar", "label_over_classes", bytes([2 << 1]) + cifar_record(5))
    put("cifar", "label_not_cifar", bytes([9 << 1]) + cifar_record(12))


def checkpoint(n_params, n_state, epoch=1, step=27, seed=7, model_hash=0x1234):
    body = (b"QSDCCKPT" + struct.pack("<IQQQQqq", 1, model_hash, epoch, step, seed,
                                      n_params, n_state)
            + b"".join(struct.pack("<f", 0.5 * i - 1) for i in range(n_params + n_state)))
    return body + struct.pack("<I", zlib.crc32(body))


def checkpoint_seeds():
    good = checkpoint(5, 3)
    put("checkpoint", "valid", good)
    put("checkpoint", "no_state", checkpoint(4, 0))
    put("checkpoint", "empty_params", checkpoint(0, 0))
    put("checkpoint", "truncated", good[:-3])
    put("checkpoint", "bad_crc", good[:-1] + bytes([good[-1] ^ 1]))
    put("checkpoint", "version2", good[:8] + struct.pack("<I", 2) + good[12:])
    put("checkpoint", "header_only", good[:60])
    put("checkpoint", "huge_counts", good[:44] + struct.pack("<qq", 1 << 61, 1 << 61) + good[60:])


TINY_MODEL = """name: tiny
input: {shape: [1, 4, 4]}
layers:
  - flatten
  - {op: dense, units: 8}
  - relu
  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}
  - {op: dense, units: 3}
  - softmax
train: {batch: 4, optimizer: adam}
"""

GRAPH_MODEL = """name: residual
input: {shape: [6]}
nodes:
  - {name: fc1, op: dense, inputs: input, units: 5, init: glorot}
  - {name: h, op: tanh, inputs: fc1}
  - {name: d, op: dropout, inputs: h, p: 0.8, share: element}
  - {name: fc2, op: dense, inputs: d, units: 5, bias: false}
  - {name: sum, op: add, inputs: [fc2, fc1]}
  - {name: s, op: sigmoid, inputs: sum}
  - {name: out, op: dense, inputs: s, units: 2, init: zeros}
output: out
train:
  batch: 3
  loss: mse
  optimizer: {type: adamw, lr: 0.01, weight_decay: 0.1, beta1: 0.8}
  schedule: {type: step, step_epochs: 2, gamma: 0.5, warmup_epochs: 0.5}
  clip_norm: 1.0
"""


LSTM_MODEL = """name: lm
input: {shape: [4], dtype: int32}
layers:
  - {op: embedding, vocab: 7, dim: 5}
  - {op: qsd, p: 0.7, sites: 4, q_cv: 0.5, share: time}
  - {op: lstm, units: 4}
  - {op: dropout, p: 0.5, share: time}
  - {op: dense, units: 7}
train: {batch: 2, optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}
"""

POOLED_MODEL = """name: pooled
input: {shape: [4, 3]}
nodes:
  - {name: d, op: dense, inputs: input, units: 4, bias: false}
  - {name: h, op: tanh, inputs: d}
  - {name: l1, op: lstm, inputs: h, units: 5}
  - {name: mean, op: pool_sequence, inputs: l1, mode: mean}
  - {name: l2, op: lstm, inputs: l1, units: 5, return: last}
  - {name: sum, op: add, inputs: [mean, l2]}
  - {name: out, op: dense, inputs: sum, units: 3}
output: out
train: {batch: 3, optimizer: {type: adam, eps: 0.001}}
"""


def model_seeds():
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*.yaml"))):
        with open(path, "rb") as f:
            put("model", os.path.basename(path), f.read())
    put("model", "tiny.yaml", TINY_MODEL)
    put("model", "graph.yaml", GRAPH_MODEL)
    put("model", "qsd_beta.yaml", TINY_MODEL.replace(
        "q_cv: 0.3}", "q_cv: 0.3, p_concentration: 2.5, share: channel}"))
    put("model", "cycle.yaml", GRAPH_MODEL.replace("inputs: input, units: 5", "inputs: s, units: 5"))
    put("model", "shape_mismatch.yaml", GRAPH_MODEL.replace("units: 5, bias", "units: 4, bias"))
    # fuzz_model's first find: a 4-dimensional sample overflowed a tensor's dims
    put("model", "rank4_input.yaml", TINY_MODEL.replace("[1, 4, 4]", "[1, 2, 2, 4]"))
    put("model", "lstm_lm.yaml", LSTM_MODEL)
    put("model", "lstm_pooled.yaml", POOLED_MODEL)
    put("model", "no_train.yaml", "name: m\ninput: {shape: [2]}\nlayers: [relu]\n")
    put("model", "anchor.yaml", "name: &a m\ninput: {shape: [2]}\nlayers: [*a]\n")
    put("model", "two_docs.yaml", "name: m\n---\nname: n\n")


def plan_seeds(qsdc):
    """The bundle of TINY_MODEL, the model fuzz_plan.c holds (its sources and
    model.yaml lie beside the input), so the seeds pass the checksums and
    the check against the model, and edits of them reach both."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "tiny.yaml")
        with open(src, "w") as f:
            f.write(TINY_MODEL)
        out = os.path.join(tmp, "tiny-bundle")
        subprocess.run([qsdc, src, "--train", "-o", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "plan.yaml"), "rb") as f:
            plan = f.read()
        put("plan", "tiny.yaml", plan)
        put("plan", "inference_only.yaml", b"\n- name:".join(plan.split(b"\n- name:")[:2]))
        put("plan", "bad_format.yaml", plan.replace(b"format: 3", b"format: 4"))
        put("plan", "offset_outside.yaml", plan.replace(b"offset: 0", b"offset: 99999999999", 1))
        # the arena shrunk, its offsets in range: only the model check refuses it
        put("plan", "arena_shrunk.yaml", plan.replace(b"A: {elems: 112, bytes: 448}",
                                                      b"A: {elems: 76, bytes: 304}", 1))
        put("plan", "empty.yaml", "format: 3\nplans: []\n")
        put("plan", "clblast.yaml", plan.replace(b"{kind: kernel, kernel: k0_matmul",
                                                 b"{kind: clblast_gemm, kernel: k0_matmul", 1))


def text_seeds():
    """fuzz_text's input: an options byte (see fuzz_text.c), then the file."""
    lines = "In the beginning God created the heaven and the earth.\n" \
            "And the earth was without form, and void; 2nd café don't 3.14\n" \
            "\n" \
            "And God said, Let there be light: and there was light.\r\n"
    put("text", "words", b"\x0c" + lines.encode())
    put("text", "chars", b"\x0e" + lines.encode())
    put("text", "bom", b"\x00\xef\xbb\xbf" + lines.encode())
    put("text", "bad_utf8", b"\x00abc \xc3\x28 def\n")
    csv = '1,"a fine, ""quoted"" film"\n-1,dull and slow\r\n\n1,great\n-1,"two\nlines"\n'
    put("text", "sentiment", b"\x0d" + csv.encode())
    put("text", "bad_label", b"\x01" + b"2,odd\n1,fine\n")
    put("text", "open_quote", b"\x01" + b'1,"never closed\n')


def npy(descr, shape, payload):
    """A version 1.0 .npy file as numpy writes it."""
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    total = (10 + len(head) + 1 + 63) // 64 * 64
    head += " " * (total - 10 - len(head) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + payload


def npy_seeds():
    """fuzz_npy's input: a flag byte, the samples' length, then both files."""
    x = npy("<f4", [2, 2, 2, 1], struct.pack("<8f", *range(8)))
    y = npy("<i8", [2], struct.pack("<2q", 0, 1))
    put("npy", "samples_labels", b"\x01" + struct.pack("<H", len(x)) + x + y)
    put("npy", "nhwc", b"\x02" + x)
    put("npy", "uint8", b"\x00" + npy("|u1", [3, 2], bytes(range(6))))
    put("npy", "float64_be", b"\x00" + npy(">f8", [1, 2], struct.pack(">2d", 0.5, -1)))
    put("npy", "fortran", b"\x00" + x.replace(b"False", b"True ", 1))
    put("npy", "truncated", b"\x00" + x[:-1])


def npz(members, compress=zipfile.ZIP_STORED):
    """A zip of .npy members as numpy.savez writes it (fixed dates)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, compress)
    return buf.getvalue()


def npz_seeds():
    """fuzz_npz's input: the archive itself."""
    x = npy("<f4", [2, 3], struct.pack("<6f", *range(6)))
    y = npy("<i8", [2], struct.pack("<2q", 0, 1))
    put("npz", "x_y", npz([("x.npy", x), ("y.npy", y)]))
    put("npz", "arr_deflated", npz([("arr_0.npy", x), ("arr_1.npy", y)], zipfile.ZIP_DEFLATED))
    put("npz", "samples_only", npz([("x.npy", npy("|u1", [3, 2], bytes(range(6))))]))
    put("npz", "no_x", npz([("y.npy", y)]))
    put("npz", "bad_member", npz([("x.npy", x[:-1]), ("y.npy", y)]))
    put("npz", "truncated", npz([("x.npy", x), ("y.npy", y)])[:-7])
    # x.npy claims 4 GiB in both headers: no allocation of that size
    claim = bytearray(npz([("x.npy", x), ("y.npy", y)]))
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = claim.index(sig) + at
        claim[i:i + 4] = struct.pack("<I", 0xFFFFFF00)
    put("npz", "claims_4gib", bytes(claim))


def png(width, height, colour_type, bit_depth, rows, extra=b""):
    """A PNG file: IHDR, optional chunks, one IDAT of the filtered rows, IEND."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_seeds():
    """fuzz_png's input: the channels flag, height and width less one, the file."""
    grey = png(3, 2, 0, 8, [bytes([0, 128, 255]), bytes([1, 2, 3])])
    put("png", "grey", b"\0\x01\x02" + grey)
    put("png", "rgb", b"\1\x01\x01" + png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]))
    put("png", "rgba16", b"\1\x00\x01" + png(2, 1, 6, 16, [bytes(range(16))]))
    plte = struct.pack(">I", 6) + b"PLTE" + bytes([0, 0, 0, 255, 255, 255])
    plte += struct.pack(">I", zlib.crc32(b"PLTE" + plte[8:]) & 0xFFFFFFFF)
    put("png", "palette", b"\1\x00\x03" + png(4, 1, 3, 1, [bytes([0b10100000])], plte))
    put("png", "grey_alpha", b"\0\x00\x00" + png(1, 1, 4, 8, [bytes([200, 100])]))
    put("png", "wrong_size", b"\0\x05\x05" + grey)
    put("png", "truncated", b"\0\x01\x02" + grey[:-20])
    put("png", "huge_header", b"\0\x01\x02" + png(1 << 30, 1 << 30, 0, 8, []))


def table_seeds():
    """fuzz_table's input: a flag byte (bit 0: labels required), then the file."""
    put("table", "labelled", b"\x01" + b"f0,label,f1\n0.5,1,2\n-1e3,0,4.25\r\n\n")
    put("table", "features", b"\x00" + b"a,b\n1,2\n3,4\n")
    put("table", "bad_number", b"\x00" + b"a,label\n1,x\n")


def text_lines_seeds():
    """fuzz_text_lines's input: a length byte, the vocabulary's length, then
    vocab.txt and the text."""
    tokens = "<pad>\n<unk>\ngood\nfilm\nbad\n,\n"
    fnv = 0xcbf29ce484222325
    for b in tokens.encode():
        fnv = ((fnv ^ b) * 0x100000001b3) % (1 << 64)
    for level, keep in (("word", "first"), ("char", "last")):
        vocab = ("qsdc vocab 1\nlevel %s\nkeep %s\nunk 1\ntokens 6\nchecksum %016x\n%s"
                 % (level, keep, fnv, tokens)).encode()
        text = b"Good film, bad plot\r\nfilm\n"
        put("text_lines", level, b"\x03" + struct.pack("<H", len(vocab)) + vocab + text)
    put("text_lines", "no_vocab", b"\x03\x00\x00good\n")


def result_of(task):
    with open(os.path.join(ROOT, "results", task, "result.json"), "rb") as f:
        return f.read()


def result_seeds():
    """fuzz_result's input: a reader byte (see fuzz_result.c), then the file:
    result.json and metrics.jsonl files of the committed experiments, one
    with a setting name that would run a command in gnuplot's script and
    split report.md's tables, metrics lines of an epoch stopped and
    resumed, a setting's strength chosen on validation, and an analysis
    plan (plan.json)."""
    for task in ("mlp_fashion/dropout-seed1", "lstm_kjv/qsd_variance-seed1"):
        run = os.path.join(ROOT, "results", task)
        lm = b"\x02" if task.startswith("lstm") else b"\x00"
        name = task.split("/")[0]
        result = result_of(task)
        put("result", name + ".json", b"\x00" + result)
        if not task.startswith("lstm"):
            hostile = b"\"dropout' . system('id > pwned.txt') . '\\n|\\u007f\\\\\""
            put("result", "hostile_names.json",
                b"\x00" + result.replace(b'"dropout"', hostile, 1))
        with open(os.path.join(run, "metrics.jsonl"), "rb") as f:
            put("result", name + ".jsonl", bytes([1 | lm[0]]) + f.read())
    line = ('{{"epoch": {}, "first_batch": {}, "batches": {}, "train_loss": 0.5, '
            '"val_accuracy": 70, "test_accuracy": 71, "seconds": 2, "samples_per_s": 5}}\n')
    joined = line.format(1, 0, 4) + line.format(1, 4, 6) + line.format(2, 0, 10)
    put("result", "joined.jsonl", b"\x01" + joined.encode())
    put("result", "truncated.json", b"\x00" + b'{"experiment": "mlp", "setting": ')
    plan = (b'{"format": "qsdc-experiment-plan-2", "experiment": "gate_mlp", "primary": '
            b'["unit vs dropout", "dropout vs none"], "equivalence_margin": 0.5, "seeds": 10, '
            b'"sparsity_margin": 0.02}\n')
    put("result", "plan.json", b"\x04" + plan)
    selection = (b'  "selection": {"swept": "p", "by": "val_accuracy", "chosen": 1, "candidates": '
                 b'[{"strength": 0.5, "val_accuracy": 85}, {"strength": 0.9, '
                 b'"val_accuracy": 86.5}]},\n  "epochs"')
    put("result", "selection.json", b"\x00" + result_of("mlp_fashion/dropout-seed1")
        .replace(b'  "epochs"', selection, 1))


def fnv1a(data):
    """base/checksum.c's checksum_of: 64-bit FNV-1a."""
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) % (1 << 64)
    return h


def feature_stats_seeds():
    """fuzz_feature_stats's input: byte 0 below 128 then a body under the
    harness's header of byte 0 % 16 + 1 features, else a whole file."""
    body = b"0.5 2\n-1e-3 0.25\n3 1\n"
    put("feature_stats", "body", b"\x02" + body)
    put("feature_stats", "body_short", b"\x05" + body)
    whole = b"qsdc standardize 1\nfeatures 3\nchecksum %016x\n" % fnv1a(body) + body
    put("feature_stats", "whole", b"\x80" + whole)
    put("feature_stats", "whole_bad_sum", b"\x80" + whole.replace(b"0.25", b"0.26"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py QSDC_EXE")
    for harness in ("idx", "checkpoint", "model", "plan", "result", "text", "npy", "npz",
                    "png", "table", "text_lines", "feature_stats"):
        shutil.rmtree(os.path.join(CORPUS, harness), ignore_errors=True)
    idx_seeds()
    cifar_seeds()
    checkpoint_seeds()
    model_seeds()
    text_seeds()
    npy_seeds()
    npz_seeds()
    png_seeds()
    table_seeds()
    text_lines_seeds()
    feature_stats_seeds()
    result_seeds()
    plan_seeds(os.path.abspath(sys.argv[1]))


if __name__ == "__main__":
    main()
