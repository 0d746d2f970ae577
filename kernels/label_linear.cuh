// Label-aware linear interpolation, as ITK's LabelImageGenericInterpolateImageFunction
// with LinearInterpolateImageFunction (SimpleITK's sitkLabelLinear) computes it.
//
// ITK interpolates the indicator image (pixel == label ? 1 : 0) of every label of the
// image with the linear interpolator and returns the label whose value is largest,
// trying labels in ascending order with a strict ">" from (value 0, label 0): among
// equal values the smallest label wins. A label absent from the 2^D corners around the
// point has indicator 0 there, so only the corners' labels (at most 8) are tried here,
// each with the linear interpolator's own lerps (x, then y, then z, over the axes that
// are on), which gives ITK's values bit for bit. No one-hot tensor is built.
//
// Scalar pixels only (gr_cell's steps then count pixels). Real is the arithmetic of the weights (double exact, float fast);
// the label itself goes to the output type through double, as ITK's OutputType.
#pragma once

#define GR_LABEL_LINEAR 2

// The indicator of ``label`` at corner ``i``, lerped with corner ``i + 1`` along x.
template <typename TIn, typename Real>
__device__ __forceinline__ Real gr_indicator_x(const TIn* v, int i, TIn label, bool on0,
                                               Real t0) {
  Real r = v[i] == label ? (Real)1 : (Real)0;
  if (on0) r = gr_lerp(r, v[i + 1] == label ? (Real)1 : (Real)0, t0);
  return r;
}

// The indicator over the z plane of corners ``i`` .. ``i + 3``: x lerps, then y.
template <typename TIn, typename Real>
__device__ __forceinline__ Real gr_indicator_plane(const TIn* v, int i, TIn label,
                                                   bool on0, bool on1, Real t0, Real t1) {
  Real r = gr_indicator_x(v, i, label, on0, t0);
  if (on1) r = gr_lerp(r, gr_indicator_x(v, i + 2, label, on0, t0), t1);
  return r;
}

// The linear interpolation of the indicator of ``label`` over the corners ``v``
// (index x + 2y + 4z), lerping only along the axes that are on, as gr_sample does.
template <typename TIn, typename Real>
__device__ __forceinline__ Real gr_indicator_lerp(const TIn* v, TIn label, bool on0,
                                                  bool on1, bool on2, Real t0, Real t1,
                                                  Real t2) {
  Real r = gr_indicator_plane(v, 0, label, on0, on1, t0, t1);
  if (on2) r = gr_lerp(r, gr_indicator_plane(v, 4, label, on0, on1, t0, t1), t2);
  return r;
}

// One output pixel at an inside input continuous index (c0, c1, c2) of a scalar image.
template <typename TIn, typename TOut, typename Real>
__device__ __forceinline__ void gr_label_linear(const TIn* __restrict__ src,
                                                TOut* __restrict__ dst,
                                                const ResampleArgs& a, Real c0, Real c1,
                                                Real c2) {
  // the corners as the linear interpolator finds them (gr_cell; scalar pixels)
  const GrCell<Real> cell = gr_cell<Real>(a, c0, c1, c2);
  const Real t0 = cell.t0, t1 = cell.t1, t2 = cell.t2;
  const bool on0 = cell.on0, on1 = cell.on1, on2 = cell.on2;
  const long long dx = cell.dx, dy = cell.dy, dz = cell.dz;
  const TIn* p = src + cell.first;
  // an axis that is off reads its lower corner twice: the duplicate is skipped below
  const TIn v[8] = {p[0],  p[dx],      p[dy],      p[dy + dx],
                    p[dz], p[dz + dx], p[dz + dy], p[dz + dy + dx]};
  // one label all around (most of a label map): its value is exactly 1, nothing to compare
  bool uniform = true;
  for (int k = 1; k < 8; ++k) uniform = uniform && v[k] == v[0];
  int best = uniform ? 0 : -1;
  Real best_value = (Real)0;
  for (int k = 0; k < 8 && !uniform; ++k) {
    bool seen = false;
    for (int j = 0; j < k; ++j) seen = seen || v[j] == v[k];
    if (seen) continue;
    const Real w = gr_indicator_lerp<TIn, Real>(v, v[k], on0, on1, on2, t0, t1, t2);
    // ITK's ascending scan with a strict ">": the largest value, then the smallest label
    if (w > best_value || (w == best_value && w > (Real)0 && v[k] < v[best])) {
      best = k;
      best_value = w;
    }
  }
  dst[0] = to_output<TOut, double>(best < 0 ? 0.0 : (double)v[best]);
}
