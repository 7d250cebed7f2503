#!/usr/bin/python3
"""PyTorch peer of `qsdc train models/lstm_kjv_<reg>.yaml`: the same word
language model (embedding 10002x256, two LSTM layers of 256 units, a linear
layer back to the 10002 words, the regulariser on the embedding output,
between the layers and before the output), batch 20, 35 steps of truncated
BPTT with the hidden state carried (detached) from batch to batch, SGD lr 1,
gradient clipped to global norm 0.25. The tokens are seeded random ids:
speed does not depend on the text. Times `--steps` optimiser steps after
`--warmup` untimed ones and prints `torch <reg>: N tokens/s`; `--compile`
as in mlp_torch.py.

Runs with Debian's /usr/bin/python3 (python3-torch) and with PyTorch 2.x
(bench/peers.sh).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from mlp_torch import QSD, add_compile_option, compiled, version_note  # noqa: E402
from peer_common import base_arguments, report, time_steps  # noqa: E402

VOCAB, UNITS, STEPS, BATCH = 10002, 256, 35, 20


def regulariser(name):
    if name == "none":
        return torch.nn.Identity()
    if name == "dropout":
        return torch.nn.Dropout(p=0.5)
    return QSD(0.42, 2, 0.5)


class LM(torch.nn.Module):
    def __init__(self, reg):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, UNITS)
        self.lstm1 = torch.nn.LSTM(UNITS, UNITS, batch_first=True)
        self.lstm2 = torch.nn.LSTM(UNITS, UNITS, batch_first=True)
        self.regs = torch.nn.ModuleList([regulariser(reg) for _ in range(3)])
        self.out = torch.nn.Linear(UNITS, VOCAB)

    def forward(self, x, state):
        h = self.regs[0](self.embed(x))
        h, s1 = self.lstm1(h, state[0])
        h, s2 = self.lstm2(self.regs[1](h), state[1])
        return self.out(self.regs[2](h)), (s1, s2)


def detach(state):
    return tuple(tuple(t.detach() for t in s) for s in state)


def main():
    args = add_compile_option(base_arguments(__doc__.split("\n\n")[0], 50, 5)).parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    total = args.warmup + args.steps
    stream = torch.randint(0, VOCAB, (BATCH, total * STEPS + 1))
    model = LM(args.reg)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    forward = compiled(model, args)
    loss_fn = torch.nn.CrossEntropyLoss()
    zeros = torch.zeros(1, BATCH, UNITS)
    state = ((zeros, zeros), (zeros, zeros))

    def step(i):
        nonlocal state
        x = stream[:, i * STEPS:(i + 1) * STEPS]
        y = stream[:, i * STEPS + 1:(i + 1) * STEPS + 1]
        opt.zero_grad(set_to_none=True)
        logits, state = forward(x, detach(state))
        loss = loss_fn(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        return loss.detach()

    seconds, loss = time_steps(step, args.warmup, args.steps)
    report("torch", args, BATCH * STEPS, "tokens/s", seconds, loss, version_note(args))


if __name__ == "__main__":
    main()
