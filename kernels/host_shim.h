// Host shim: lets the CUDA kernel sources in this folder compile as plain C++ so the test
// suite runs the real kernel arithmetic on a machine without a GPU (backend "cuda-host").
// Built with -ffp-contract=off, as the GPU build uses --fmad=false, so both round alike.
#pragma once
#include <cmath>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct gr_dim3 {
  unsigned int x, y, z;
};
// One kernel "thread" runs at a time on each host thread, so these are thread-local.
static thread_local gr_dim3 blockIdx, threadIdx, blockDim, gridDim;

