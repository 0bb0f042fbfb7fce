#!/usr/bin/env bash
# The MNIST runs reported in docs/results/neural.md, one process at a time, niced (shared machine).
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$(cd ../.. && pwd)/src" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PYTHON:-python}
for seeds in "0" "1" "2"; do  # 1 thread: on a shared machine 2 spinning OpenMP threads inflate CPU time
  nice -n 10 $PY mnist.py --per-class 10 25 --seeds $seeds --methods flexmatch supervised --steps 1600 --threads 1
done
