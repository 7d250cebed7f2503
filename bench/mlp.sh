#!/usr/bin/env bash
# Training throughput of qsdc against PyTorch for the Fashion-MNIST MLP
# (models/mlp_fashion_<reg>.yaml); see bench/README.md.
# Usage: bench/mlp.sh [QSDC_TRAIN_OPTION...]   (e.g. --device cpu)
exec "$(dirname "${BASH_SOURCE[0]}")/throughput.sh" mlp "$@"
