// Transform stages of the per-voxel path (resample_points): each maps a physical point to
// a physical point exactly as ITK's TransformPoint of that kind, in double, in ITK's
// operation order (the CPU backend's gpuresample/backends/stages.py mirrors this file line
// for line, and gpuresample/transforms/{affine,bspline,displacement}.py document the order).
#pragma once
#include "common.cuh"

// c = m * (p - origin), the sum over j from 0 (ITK's Matrix * Vector).
__device__ __forceinline__ void gr_to_grid(const double* m, const double* origin,
                                           const double* p, double* c) {
  const double v0 = p[0] - origin[0], v1 = p[1] - origin[1], v2 = p[2] - origin[2];
  for (int r = 0; r < 3; ++r) {
    double acc = 0.0;
    acc += m[3 * r + 0] * v0;
    acc += m[3 * r + 1] * v1;
    acc += m[3 * r + 2] * v2;
    c[r] = acc;
  }
}

// MatrixOffsetTransformBase::TransformPoint: M * p (summed from 0), then + offset.
__device__ __forceinline__ void gr_stage_affine(const double* f, const long long* st,
                                                double* p) {
  const int d = (int)st[6];
  double q[3] = {0.0, 0.0, 0.0};
  for (int r = 0; r < d; ++r) {
    double acc = 0.0;
    for (int j = 0; j < d; ++j) acc += f[3 * r + j] * p[j];
    q[r] = acc + f[9 + r];
  }
  for (int r = 0; r < d; ++r) p[r] = q[r];
}

// ScaleTransform::TransformPoint: (p_i - c_i) * s_i + c_i (not a matrix product).
__device__ __forceinline__ void gr_stage_scale(const double* f, const long long* st,
                                               double* p) {
  for (int r = 0; r < (int)st[6]; ++r) p[r] = (p[r] - f[9 + r]) * f[r] + f[9 + r];
}

// ITK's BSplineKernelFunction<order>::FastEvaluate, each line in C++ evaluation order.
__device__ __forceinline__ double gr_bspline_kernel(int order, double u) {
  const double a = u >= 0.0 ? u : -u;
  const double s = a * a;
  if (order == 3) {
    if (a < 1.0) return ((4.0 - 6.0 * s) + (3.0 * s) * a) / 6.0;
    if (a < 2.0) return (((8.0 - 12.0 * a) + 6.0 * s) - s * a) / 6.0;
    return 0.0;
  }
  if (order == 2) {
    if (a < 0.5) return 0.75 - s;
    if (a < 1.5) return ((9.0 - 12.0 * a) + 4.0 * s) * 0.125;
    return 0.0;
  }
  if (order == 1) return a < 1.0 ? 1.0 - a : 0.0;
  if (a < 0.5) return 1.0;  // order 0
  return a == 0.5 ? 0.5 : 0.0;
}

// BSplineTransform::TransformPoint (gpuresample/transforms/bspline.py documents each step):
// zero displacement outside the valid region; inside, the weights of the (order+1)^D
// support points, x fastest, weight (1 * w_x) * w_y * w_z, each component accumulated
// from 0, then the point added.
__device__ __forceinline__ void gr_stage_bspline(const double* f, const long long* st,
                                                 const double* data, double* p,
                                                 const double* row_first) {
  const int d = (int)st[6];
  const int order = (int)st[5];
  double c[3];
  gr_to_grid(f, f + 9, p, c);
  if (st[7]) {
    // separable: y and z from the row's first point (the grid is aligned with the output
    // grid, so they do not change along the row)
    double c_first[3];
    gr_to_grid(f, f + 9, row_first, c_first);
    c[1] = c_first[1];
    c[2] = c_first[2];
  }
  // ITK's InsideValidRegion with the limits the planner computed (stage_data holds, before
  // the coefficients, per axis: the upper limit, the ends of its 4-ULP window, the value
  // 6 ULP below it): a point almost equal to the upper limit is moved below it and counts
  // as inside that axis; otherwise lower <= c < upper (NaN is outside).
  const double* limits = data + st[4];
  const double lower = order == 0 ? 2147483647.5 : 0.5 * (double)(order - 1);
  for (int j = 0; j < d; ++j) {
    const double upper = limits[j], diff = c[j] - upper;
    if ((c[j] >= limits[3 + j] && c[j] <= limits[6 + j]) ||
        (diff >= 0.0 ? diff : -diff) <= 0.1 * 2.220446049250313e-16) {
      c[j] = limits[9 + j];
    } else if (!(c[j] < upper) || c[j] < lower) {
      return;
    }
  }
  long long start[3] = {0, 0, 0};
  double w[3][4] = {{1.0, 0.0, 0.0, 0.0}, {1.0, 0.0, 0.0, 0.0}, {1.0, 0.0, 0.0, 0.0}};
  for (int j = 0; j < d; ++j) {
    start[j] = (long long)floor((c[j] + 0.5) - (double)order / 2.0);
    double x = c[j] - (double)start[j];
    for (int k = 0; k <= order; ++k) {
      w[j][k] = gr_bspline_kernel(order, x);
      x -= 1.0;
    }
  }
  const long long gx = st[1], gy = st[2], gz = st[3];
  const long long plane = gx * gy * gz;
  const int nz = d == 3 ? order + 1 : 1;
  double disp[3] = {0.0, 0.0, 0.0};
  if (st[7]) {
    // fast precision: per x support point the y-z sum s_j = sum over kz, ky of
    // (w_y * w_z) * coef, then disp_j = sum over kx of w_x * s_j (the cpu backend keeps the
    // s_j of a whole row, computed in this same order)
    for (int kx = 0; kx <= order; ++kx) {
      double sum[3] = {0.0, 0.0, 0.0};
      for (int kz = 0; kz < nz; ++kz)
        for (int ky = 0; ky <= order; ++ky) {
          double weight = w[1][ky];
          if (d == 3) weight *= w[2][kz];
          const long long at =
              ((start[2] + kz) * gy + (start[1] + ky)) * gx + (start[0] + kx);
          for (int j = 0; j < d; ++j) sum[j] += weight * data[st[4] + 12 + j * plane + at];
        }
      for (int j = 0; j < d; ++j) disp[j] += w[0][kx] * sum[j];
    }
    for (int j = 0; j < d; ++j) p[j] = disp[j] + p[j];
    return;
  }
  for (int kz = 0; kz < nz; ++kz)
    for (int ky = 0; ky <= order; ++ky)
      for (int kx = 0; kx <= order; ++kx) {
        double weight = 1.0;
        weight *= w[0][kx];
        weight *= w[1][ky];
        if (d == 3) weight *= w[2][kz];
        const long long at = ((start[2] + kz) * gy + (start[1] + ky)) * gx + (start[0] + kx);
        for (int j = 0; j < d; ++j) disp[j] += weight * data[st[4] + 12 + j * plane + at];
      }
  for (int j = 0; j < d; ++j) p[j] = disp[j] + p[j];
}

// Component j of the field's vector at pixel `at`: float64 vectors (components
// interleaved), or (st[7]) float32 component planes of `plane` pixels, used where float32
// holds the field exactly (the same values, half the bytes).
__device__ __forceinline__ double gr_field_value(const double* field, bool planes,
                                                 long long plane, int d, long long at,
                                                 int j) {
  if (planes) return (double)((const float*)field)[j * plane + at];
  return field[at * d + j];
}

// DisplacementFieldTransform::TransformPoint: outside the field's buffer the point is
// unchanged; inside, the displacement is interpolated (ITK's VectorLinearInterpolate-
// ImageFunction: a weighted sum over the 2^D corners, x the fastest bit, zero-weight corners
// skipped, stopping once the weights reach 1; or nearest, rounding half up) and added.
__device__ __forceinline__ void gr_stage_field(const double* f, const long long* st,
                                               const double* data, double* p) {
  const int d = (int)st[6];
  double c[3];
  gr_to_grid(f, f + 9, p, c);
  for (int j = 0; j < d; ++j)
    if (!(c[j] >= -0.5 && c[j] < (double)st[1 + j] - 0.5)) return;
  const long long gx = st[1], gy = st[2];
  const double* field = data + st[4];
  const bool planes = st[7] != 0;
  const long long plane = gx * gy * st[3];
  double disp[3] = {0.0, 0.0, 0.0};
  if (st[5] == 0) {
    long long i[3] = {0, 0, 0};
    for (int j = 0; j < d; ++j) {
      i[j] = (long long)floor(c[j] + 0.5);
      if (i[j] > st[1 + j] - 1) i[j] = st[1 + j] - 1;
    }
    const long long at = (i[2] * gy + i[1]) * gx + i[0];
    for (int j = 0; j < d; ++j) disp[j] = gr_field_value(field, planes, plane, d, at, j);
  } else {
    long long base[3] = {0, 0, 0};
    double dist[3] = {0.0, 0.0, 0.0};
    for (int j = 0; j < d; ++j) {
      base[j] = (long long)floor(c[j]);
      dist[j] = c[j] - (double)base[j];
    }
    double total = 0.0;
    for (int corner = 0; corner < (1 << d); ++corner) {
      double overlap = 1.0;
      long long n[3] = {0, 0, 0};
      for (int j = 0; j < d; ++j) {
        if ((corner >> j) & 1) {
          n[j] = base[j] + 1;
          if (n[j] > st[1 + j] - 1) n[j] = st[1 + j] - 1;
          overlap *= dist[j];
        } else {
          n[j] = base[j];
          if (n[j] < 0) n[j] = 0;
          overlap *= 1.0 - dist[j];
        }
      }
      if (overlap != 0.0) {
        const long long at = (n[2] * gy + n[1]) * gx + n[0];
        for (int j = 0; j < d; ++j)
          disp[j] += overlap * gr_field_value(field, planes, plane, d, at, j);
        total += overlap;
      }
      if (total == 1.0) break;
    }
  }
  for (int j = 0; j < d; ++j) p[j] += disp[j];
}

// All stages of one item, in order; row_first is the physical point of the row's x = 0
// voxel (used by a separable B-spline, which is always the first stage).
__device__ __forceinline__ void gr_apply_stages(const long long* stage_i, const double* stage_f,
                                                const double* stage_data, long long n,
                                                double* p, const double* row_first) {
  for (long long s = 0; s < n; ++s) {
    const long long* st = stage_i + s * GR_STAGE_INTS;
    const double* f = stage_f + s * GR_STAGE_REALS;
    if (st[6] == 0) break;  // an unused slot: this batch item has fewer stages
    if (st[0] == GR_STAGE_AFFINE) gr_stage_affine(f, st, p);
    else if (st[0] == GR_STAGE_SCALE) gr_stage_scale(f, st, p);
    else if (st[0] == GR_STAGE_BSPLINE) gr_stage_bspline(f, st, stage_data, p, row_first);
    else gr_stage_field(f, st, stage_data, p);
  }
}
