#!/usr/bin/env bash
# Wheels (Python 3.12, x86-64) of what the device image lacks, into .whl/ (git-ignored through
# .git/info/exclude), to carry to a lent GPU machine for benchmarks/gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
for spec in SimpleITK==2.5.7 pydicom pynrrd nibabel isal; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "$spec"
done
du -sh .whl
