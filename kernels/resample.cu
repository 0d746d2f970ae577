// Resampling kernels, as ITK's ResampleImageFilter computes them.
//
// resample_rows (linear transforms): for each output row the planner supplies the input
// continuous indices of the row's two ends, x = 0 and x = N_x (one past the last voxel),
// computed through the unfused transform chain in float64. A voxel's position is
// c = c0 + (x / N_x) * (c1 - c0): exactly ITK's scan-line arithmetic, which decides
// nearest-neighbour ties (SEMANTICS.md §0.3).
//
// resample_points (chains with a B-spline or displacement-field stage): every voxel's
// physical point goes through the stages (stages.cuh) in double, then to the input's
// continuous index, as ITK's per-voxel path does.
//
// Both share gr_sample: ITK's inside test, nearest / linear interpolation and the
// conversion to the output type.
//
// Template parameters: input and output component types, the interpolator
// (0 nearest, 1 linear, 2 label_linear: label_linear.cuh) and Real, the arithmetic type:
// double ("exact", bit-identical to SimpleITK) or float ("fast"). Launch:
// blockIdx.x/threadIdx.x over x, blockIdx.y strided over rows, blockIdx.z over batch items.
// Uses no shared memory, barriers or warp intrinsics, so the host shim (host_shim.h) runs
// the same code on the CPU.
#include "common.cuh"
#include "stages.cuh"

#define GR_NEAREST 0
#define GR_LINEAR 1

__device__ __forceinline__ long long gr_min(long long a, long long b) { return a < b ? a : b; }

template <typename Real>
__device__ __forceinline__ Real gr_lerp(Real a, Real b, Real t) { return a + (b - a) * t; }

// The cell of ITK's LinearInterpolateImageFunction around (c0, c1, c2), an inside point:
// base = max(floor(c), 0), t = c - base; an axis is interpolated ("on") only if t > 0 and
// base + 1 exists, otherwise its lower sample is used as is (edge replication in the
// half-voxel band). ``first`` is the base's offset, dx/dy/dz the steps to the upper
// neighbour along each axis (0 for an axis that is off). Shared by gr_sample and
// gr_label_linear (label_linear.cuh).
template <typename Real>
struct GrCell {
  long long first, dx, dy, dz;
  Real t0, t1, t2;
  bool on0, on1, on2;
};

template <typename Real>
__device__ __forceinline__ GrCell<Real> gr_cell(const ResampleArgs& a, Real c0, Real c1,
                                                Real c2) {
  const long long nc = a.components;
  const long long sy = a.in_size[0] * nc;
  const long long sz = a.in_size[1] * sy;
  long long b0 = (long long)gr_floor(c0), b1 = (long long)gr_floor(c1),
            b2 = (long long)gr_floor(c2);
  if (b0 < 0) b0 = 0;
  if (b1 < 0) b1 = 0;
  if (b2 < 0) b2 = 0;
  GrCell<Real> cell;
  cell.t0 = c0 - (Real)b0;
  cell.t1 = c1 - (Real)b1;
  cell.t2 = c2 - (Real)b2;
  cell.on0 = cell.t0 > (Real)0 && b0 + 1 < a.in_size[0];
  cell.on1 = cell.t1 > (Real)0 && b1 + 1 < a.in_size[1];
  cell.on2 = cell.t2 > (Real)0 && b2 + 1 < a.in_size[2];
  cell.dx = cell.on0 ? nc : 0;
  cell.dy = cell.on1 ? sy : 0;
  cell.dz = cell.on2 ? sz : 0;
  cell.first = b2 * sz + b1 * sy + b0 * nc;
  return cell;
}

#include "label_linear.cuh"

// One output pixel at input continuous index (c0, c1, c2): the default value outside.
template <typename TIn, typename TOut, int INTERP, typename Real>
__device__ __forceinline__ void gr_sample(const TIn* __restrict__ src, TOut* __restrict__ dst,
                                          const TOut* __restrict__ default_values,
                                          const ResampleArgs& a, Real c0, Real c1, Real c2) {
  // a block's input crop: integer offsets, subtracted exactly (gpuresample/blocks.py)
  c0 -= (Real)a.in_offset[0];
  c1 -= (Real)a.in_offset[1];
  c2 -= (Real)a.in_offset[2];
  const long long nc = a.components;
  const long long sy = a.in_size[0] * nc;
  const long long sz = a.in_size[1] * sy;
  // Inside the input: -0.5 <= c < N - 0.5 on every axis (NaN is outside).
  const Real lower = (Real)-0.5;
  if (!(c0 >= lower && c0 < (Real)a.in_size[0] - (Real)0.5 && c1 >= lower &&
        c1 < (Real)a.in_size[1] - (Real)0.5 && c2 >= lower &&
        c2 < (Real)a.in_size[2] - (Real)0.5)) {
    for (long long k = 0; k < nc; ++k) dst[k] = default_values[k];
    return;
  }
  if (INTERP == GR_LABEL_LINEAR) {   // scalar pixels only (the planner checks)
    gr_label_linear<TIn, TOut, Real>(src, dst, a, c0, c1, c2);
    return;
  }
  if (INTERP == GR_NEAREST) {
    // clamped to the volume (a guard: for c < N - 0.5 the rounded c + 0.5 stays below N)
    const long long i0 = gr_min((long long)gr_floor(c0 + (Real)0.5), a.in_size[0] - 1);
    const long long i1 = gr_min((long long)gr_floor(c1 + (Real)0.5), a.in_size[1] - 1);
    const long long i2 = gr_min((long long)gr_floor(c2 + (Real)0.5), a.in_size[2] - 1);
    const TIn* p = src + i2 * sz + i1 * sy + i0 * nc;
    for (long long k = 0; k < nc; ++k) dst[k] = to_output<TOut, Real>((Real)p[k]);
    return;
  }
  // Linear (ITK's LinearInterpolateImageFunction): lerps x, then y, z, over the axes on.
  const GrCell<Real> cell = gr_cell<Real>(a, c0, c1, c2);
  const Real t0 = cell.t0, t1 = cell.t1, t2 = cell.t2;
  const bool on0 = cell.on0, on1 = cell.on1, on2 = cell.on2;
  const long long dx = cell.dx, dy = cell.dy, dz = cell.dz;
  const TIn* p = src + cell.first;
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

// Both kernels take the same arguments (one launcher); each ignores what it does not use.
// Launch: blockIdx.x/threadIdx.x over x, blockIdx.y strided over rows, blockIdx.z over
// batch items.
template <typename TIn, typename TOut, int INTERP, typename Real>
__global__ void resample_rows(const TIn* __restrict__ in, TOut* __restrict__ out,
                              const double* __restrict__ row_ends,
                              const TOut* __restrict__ default_values,
                              const long long* __restrict__ stage_i,
                              const double* __restrict__ stage_f,
                              const double* __restrict__ stage_data, ResampleArgs a) {
  const long long nx = a.out_size[0];
  const long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= nx) return;
  const long long item = blockIdx.z;
  const TIn* src = in + item * a.in_batch_stride;
  const Real alpha = (Real)(x + a.out_offset[0]) / (Real)a.row_length;
  for (long long row = blockIdx.y; row < a.rows; row += gridDim.y) {
    const double* ends = row_ends + (item * a.rows + row) * 6;
    const Real c0 = (Real)ends[0] + alpha * (Real)(ends[3] - ends[0]);
    const Real c1 = (Real)ends[1] + alpha * (Real)(ends[4] - ends[1]);
    const Real c2 = (Real)ends[2] + alpha * (Real)(ends[5] - ends[2]);
    TOut* dst = out + ((item * a.rows + row) * nx + x) * a.components;
    gr_sample<TIn, TOut, INTERP, Real>(src, dst, default_values, a, c0, c1, c2);
  }
}

template <typename TIn, typename TOut, int INTERP, typename Real>
__global__ void resample_points(const TIn* __restrict__ in, TOut* __restrict__ out,
                                const double* __restrict__ row_ends,
                                const TOut* __restrict__ default_values,
                                const long long* __restrict__ stage_i,
                                const double* __restrict__ stage_f,
                                const double* __restrict__ stage_data, ResampleArgs a) {
  const long long nx = a.out_size[0];
  const long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= nx) return;
  const long long item = blockIdx.z;
  const TIn* src = in + item * a.in_batch_stride;
  const long long* item_i = stage_i + item * GR_MAX_STAGES * GR_STAGE_INTS;
  const double* item_f = stage_f + item * GR_MAX_STAGES * GR_STAGE_REALS;
  for (long long row = blockIdx.y; row < a.rows; row += gridDim.y) {
    const double index[3] = {(double)(x + a.out_offset[0]),
                             (double)(row % a.out_size[1] + a.out_offset[1]),
                             (double)(row / a.out_size[1] + a.out_offset[2])};
    // ITK's TransformIndexToPhysicalPoint: from the origin, adding A[r][j] * i_j in order
    double p[3], first[3];
    for (int r = 0; r < 3; ++r) {
      double acc = a.out_origin[r], acc0 = a.out_origin[r];
      for (int j = 0; j < 3; ++j) {
        acc += a.out_matrix[3 * r + j] * index[j];
        acc0 += a.out_matrix[3 * r + j] * (j == 0 ? 0.0 : index[j]);
      }
      p[r] = acc;
      first[r] = acc0;
    }
    gr_apply_stages(item_i, item_f, stage_data, a.n_stages, p, first);
    double c[3];
    gr_to_grid(a.in_matrix, a.in_origin, p, c);
    TOut* dst = out + ((item * a.rows + row) * nx + x) * a.components;
    gr_sample<TIn, TOut, INTERP, Real>(src, dst, default_values, a, (Real)c[0], (Real)c[1],
                                       (Real)c[2]);
  }
}
