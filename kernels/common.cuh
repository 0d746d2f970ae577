// Shared definitions of the resampling kernels: the argument struct (the same bytes are
// built by gpuresample/backends/launch.py for the GPU and for the host shim) and the
// conversion of an interpolated value to the output pixel type.
#pragma once

// All fields are 8 bytes wide so the layout has no padding on any compiler.
struct ResampleArgs {
  long long out_size[3];       // output grid (x, y, z); z = 1 for 2-D
  long long in_size[3];        // input image (x, y, z); z = 1 for 2-D
  long long components;        // values per pixel (vector images; complex counts 2)
  long long rows;              // out_size[1] * out_size[2]
  long long batch;             // number of (image, transform) items
  long long in_batch_stride;   // elements from one input item to the next (0: shared input)
  long long n_stages;          // resample_points: transform stages per item (<= GR_MAX_STAGES)
  double out_origin[3];        // resample_points: output index -> physical point
  double out_matrix[9];        //   p = out_origin + out_matrix * index (row-major)
  double in_origin[3];         // resample_points: physical point -> input continuous index
  double in_matrix[9];         //   c = in_matrix * (q - in_origin)
  // Blocks of a larger output (gpuresample/blocks.py); zeros and out_size[0] for a whole
  // resampling. A block's output index (x, y, z) is out_offset + its own index, positions
  // along a row use the whole row's length, and the input buffer is the crop starting at
  // in_offset (continuous indices are shifted by it, an exact subtraction).
  long long out_offset[3];
  long long row_length;        // N_x of the whole output row (alpha = x / N_x)
  long long in_offset[3];
};

// Transform stages of resample_points, applied in order to each output point (the
// composite's last-added transform first). Per stage, GR_STAGE_INTS int64 values:
// kind, grid size x, y, z, offset of its data in stage_data, order (B-spline) or
// interpolator (field: 0 nearest, 1 linear), dimension, and a layout flag: separable
// (B-spline, fast precision, control grid aligned with the output grid) or float32
// component planes (field; see stages.cuh); and
// GR_STAGE_REALS doubles:
// matrix (affine: M; grids: physical -> grid continuous index; scale: the factors in its
// first D entries), offset (affine), origin (grids) or center (scale).
#define GR_MAX_STAGES 8
#define GR_STAGE_INTS 8
#define GR_STAGE_REALS 12
#define GR_STAGE_AFFINE 0
#define GR_STAGE_BSPLINE 1
#define GR_STAGE_FIELD 2
#define GR_STAGE_SCALE 3

template <typename T> struct OutputTraits;
// LO/HI: the type's range as doubles, for the comparisons. MIN/MAX: the same bounds as
// values of T (2^63 - 1 is not a double, so they are not cast from LO/HI).
#define GR_OUTPUT_TRAITS(T, LO, HI, MIN, MAX, IS_INT, IS_F64)            \
  template <> struct OutputTraits<T> {                                  \
    static constexpr double lowest = LO;                                \
    static constexpr double highest = HI;                               \
    static constexpr T min_value = MIN;                                 \
    static constexpr T max_value = MAX;                                 \
    static constexpr bool is_integer = IS_INT;                          \
    static constexpr bool passthrough = IS_F64;                         \
  };
GR_OUTPUT_TRAITS(signed char, -128.0, 127.0, -128, 127, true, false)
GR_OUTPUT_TRAITS(unsigned char, 0.0, 255.0, 0, 255, true, false)
GR_OUTPUT_TRAITS(short, -32768.0, 32767.0, -32768, 32767, true, false)
GR_OUTPUT_TRAITS(unsigned short, 0.0, 65535.0, 0, 65535, true, false)
GR_OUTPUT_TRAITS(int, -2147483648.0, 2147483647.0, (-2147483647 - 1), 2147483647, true, false)
GR_OUTPUT_TRAITS(unsigned int, 0.0, 4294967295.0, 0u, 4294967295u, true, false)
GR_OUTPUT_TRAITS(long long, -9223372036854775808.0, 9223372036854775807.0,
                 (-9223372036854775807LL - 1), 9223372036854775807LL, true, false)
GR_OUTPUT_TRAITS(unsigned long long, 0.0, 18446744073709551615.0, 0ull,
                 18446744073709551615ull, true, false)
GR_OUTPUT_TRAITS(float, -3.4028234663852886e38, 3.4028234663852886e38,
                 -3.4028234663852886e38f, 3.4028234663852886e38f, false, false)
GR_OUTPUT_TRAITS(double, -1.7976931348623157e308, 1.7976931348623157e308,
                 -1.7976931348623157e308, 1.7976931348623157e308, false, true)
#undef GR_OUTPUT_TRAITS

// ITK's CastComponentWithBoundsChecking, written out so no out-of-range float -> integer
// conversion ever happens (that is undefined in C++; PTX saturates where x86 wraps):
// float64 output passes through; otherwise clamp to the type range, then convert
// (truncation toward zero for integers); NaN becomes 0 for integers.
template <typename TOut, typename Real>
__device__ __forceinline__ TOut to_output(Real v) {
  typedef OutputTraits<TOut> Tr;
  if (Tr::passthrough) return static_cast<TOut>(v);
  if (Tr::is_integer && !(v == v)) return static_cast<TOut>(0);
  if (v <= static_cast<Real>(Tr::lowest)) return Tr::min_value;
  if (v >= static_cast<Real>(Tr::highest)) return Tr::max_value;
  return static_cast<TOut>(v);
}

__device__ __forceinline__ double gr_floor(double x) { return floor(x); }
__device__ __forceinline__ float gr_floor(float x) { return floorf(x); }
