// Resampling along output rows, as ITK's ResampleImageFilter does for linear transforms.
//
// For each output row the planner supplies the input continuous indices of the row's two
// ends, x = 0 and x = N_x (one past the last voxel), computed through the unfused
// transform chain in float64. A voxel's position is c = c0 + (x / N_x) * (c1 - c0): exactly
// ITK's scan-line arithmetic, which decides nearest-neighbour ties (SEMANTICS.md §0.3).
//
// Template parameters: input and output component types, the interpolator
// (0 nearest, 1 linear) and Real, the arithmetic type: double ("exact", bit-identical to
// SimpleITK) or float ("fast"). Launch: blockIdx.x/threadIdx.x over x, blockIdx.y strided
// over rows, blockIdx.z over batch items. Uses no shared memory, barriers or warp
// intrinsics, so the host shim (host_shim.h) runs the same code on the CPU.
#include "common.cuh"

#define GR_NEAREST 0
#define GR_LINEAR 1

template <typename Real>
__device__ __forceinline__ Real gr_lerp(Real a, Real b, Real t) { return a + (b - a) * t; }

template <typename TIn, typename TOut, int INTERP, typename Real>
__global__ void resample_rows(const TIn* __restrict__ in, TOut* __restrict__ out,
                              const double* __restrict__ row_ends,
                              const TOut* __restrict__ default_values, ResampleArgs a) {
  const long long nx = a.out_size[0];
  const long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= nx) return;
  const long long item = blockIdx.z;
  const long long nc = a.components;
  const TIn* src = in + item * a.in_batch_stride;
  const Real alpha = (Real)x / (Real)nx;
  // Inside the input: -0.5 <= c < N - 0.5 on every axis (NaN is outside).
  const Real upper0 = (Real)a.in_size[0] - (Real)0.5;
  const Real upper1 = (Real)a.in_size[1] - (Real)0.5;
  const Real upper2 = (Real)a.in_size[2] - (Real)0.5;
  const Real lower = (Real)-0.5;
  const long long sy = a.in_size[0] * nc;
  const long long sz = a.in_size[1] * sy;

  for (long long row = blockIdx.y; row < a.rows; row += gridDim.y) {
    const double* ends = row_ends + (item * a.rows + row) * 6;
    const Real c0 = (Real)ends[0] + alpha * (Real)(ends[3] - ends[0]);
    const Real c1 = (Real)ends[1] + alpha * (Real)(ends[4] - ends[1]);
    const Real c2 = (Real)ends[2] + alpha * (Real)(ends[5] - ends[2]);
    TOut* dst = out + ((item * a.rows + row) * nx + x) * nc;

    if (!(c0 >= lower && c0 < upper0 && c1 >= lower && c1 < upper1 && c2 >= lower &&
          c2 < upper2)) {
      for (long long k = 0; k < nc; ++k) dst[k] = default_values[k];
      continue;
    }
    if (INTERP == GR_NEAREST) {
      const long long i0 = (long long)gr_floor(c0 + (Real)0.5);
      const long long i1 = (long long)gr_floor(c1 + (Real)0.5);
      const long long i2 = (long long)gr_floor(c2 + (Real)0.5);
      const TIn* p = src + i2 * sz + i1 * sy + i0 * nc;
      for (long long k = 0; k < nc; ++k) dst[k] = to_output<TOut, Real>((Real)p[k]);
      continue;
    }
    // Linear (ITK's LinearInterpolateImageFunction): base = max(floor(c), 0), t = c - base.
    // An axis is interpolated only if t > 0 and base + 1 exists; otherwise its lower
    // sample is used as is (edge replication in the half-voxel band). Lerps x, then y, z.
    long long b0 = (long long)gr_floor(c0), b1 = (long long)gr_floor(c1),
              b2 = (long long)gr_floor(c2);
    if (b0 < 0) b0 = 0;
    if (b1 < 0) b1 = 0;
    if (b2 < 0) b2 = 0;
    const Real t0 = c0 - (Real)b0, t1 = c1 - (Real)b1, t2 = c2 - (Real)b2;
    const bool on0 = t0 > (Real)0 && b0 + 1 < a.in_size[0];
    const bool on1 = t1 > (Real)0 && b1 + 1 < a.in_size[1];
    const bool on2 = t2 > (Real)0 && b2 + 1 < a.in_size[2];
    const long long dx = on0 ? nc : 0, dy = on1 ? sy : 0, dz = on2 ? sz : 0;
    const TIn* p = src + b2 * sz + b1 * sy + b0 * nc;
    for (long long k = 0; k < nc; ++k) {
      const TIn* q = p + k;
      Real r00 = (Real)q[0];
      if (on0) r00 = gr_lerp(r00, (Real)q[dx], t0);
      Real r = r00;
      if (on1) {
        Real r10 = (Real)q[dy];
        if (on0) r10 = gr_lerp(r10, (Real)q[dy + dx], t0);
        r = gr_lerp(r00, r10, t1);
      }
      if (on2) {
        Real r01 = (Real)q[dz];
        if (on0) r01 = gr_lerp(r01, (Real)q[dz + dx], t0);
        Real r1 = r01;
        if (on1) {
          Real r11 = (Real)q[dz + dy];
          if (on0) r11 = gr_lerp(r11, (Real)q[dz + dy + dx], t0);
          r1 = gr_lerp(r01, r11, t1);
        }
        r = gr_lerp(r, r1, t2);
      }
      dst[k] = to_output<TOut, Real>(r);
    }
  }
}
