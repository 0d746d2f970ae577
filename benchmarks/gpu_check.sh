#!/usr/bin/env bash
# The prepared GPU check for a session that is lent a device machine (see benchmarks/README.md,
# "On a lent GPU"): the whole suite's cuda-backend tests, then the benchmarks with the GPU peers,
# results under $OUT. Run it from the repository root on the device, with .whl carried
# (benchmarks/gpu_wheels.sh fills it here); it ends well inside one 10-minute call.
set -uo pipefail
OUT=${OUT:-/tmp/gpuresample-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
{ nvidia-smi -L; python3 -c "import gpuresample as gr, cupy; print(gr.backends()); print('cupy', cupy.__version__)"; } \
  2>&1 | tee "$OUT/gpu.txt"
# every test that runs on the cuda backend (the kernels compiled by NVRTC), bit for bit against
# SimpleITK and cuda-host
timeout 360 python3 -m pytest -q -p no:cacheprovider tests -k "cuda and not host" -rfE 2>&1 \
  | tail -60 > "$OUT/tests_cuda.txt"
echo "tests exit: ${PIPESTATUS[0]}" >> "$OUT/tests_cuda.txt"
timeout 180 python3 -m benchmarks --size 256 --devices cuda,cpu \
  --cases euler3d-linear,euler3d-nearest,bspline-linear,field-linear \
  --peers sitk,cupyx,torch --precision both --repeat 5 \
  --record "$OUT/bench.md" --json "$OUT/bench.json" > "$OUT/bench_log.txt" 2>&1
echo "bench exit: $?" >> "$OUT/bench_log.txt"
tail -5 "$OUT/tests_cuda.txt" "$OUT/bench_log.txt"
