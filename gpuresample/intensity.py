"""Pixel-type conversion and intensity rescaling, as SimpleITK's Cast and RescaleIntensity.

Example
-------
>>> import numpy as np, gpuresample as gr
>>> img = gr.image_from_array(np.array([[-5.5, 0.7, 300.7]], np.float32))
>>> gr.cast(img, gr.PixelType.UINT8)[0, 0], gr.cast(img, "uint8")[2, 0]
(251, 44)
>>> gr.rescale_intensity(gr.image_from_array(np.array([[0, 1, 2, 3, 10]], np.uint8)))[1, 0]
25
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .arithmetic import c_cast_array, c_cast_value
from .image import Image
from .pixeltypes import as_pixel_type

__all__ = ["cast", "rescale_intensity"]


def cast(image: Image, pixel_type: Any) -> Image:
    """``image`` with its pixels converted to ``pixel_type``, as SimpleITK's ``Cast``.

    Each component is converted with a C ``static_cast``: floats truncate toward zero and
    are **not** clamped (FLOAT32 -5.5 -> UINT8 251, 300.7 -> 44). Values out of the target
    range (and NaN, infinities) are undefined behaviour in C++; here they follow numpy's
    ``astype`` on the host, which on x86 gives SimpleITK's wrap-arounds (tested for values
    up to 2^63, except floats beyond 32 bits to UINT32, where SimpleITK's own bits depend on
    its loop), and CuPy's on the GPU (CUDA saturates).

    Parameters
    ----------
    image : Image
    pixel_type : PixelType, dtype or SimpleITK pixel id
        SimpleITK's rules: scalar images cast to scalar, complex or VECTOR_* types (a
        VECTOR_* type gives 1 component); vector images to VECTOR_* types only (same
        number of components); complex images to complex types only.

    Returns
    -------
    Image
        A new image on the same device, same geometry, **no metadata** (SimpleITK's Cast
        drops the meta-data dictionary, even to the same type).

    Raises
    ------
    TypeError
        conversions SimpleITK refuses: vector -> scalar or complex, complex -> real or vector.

    Examples
    --------
    >>> rgb = Image((4, 3), PixelType.VECTOR_UINT8, components=3)
    >>> cast(rgb, PixelType.VECTOR_FLOAT32).pixel_type.name
    'VECTOR_FLOAT32'
    >>> cast(Image((4, 3), "uint8"), PixelType.VECTOR_INT16).number_of_components
    1
    """
    if not isinstance(image, Image):
        raise TypeError(f"cast takes a gpuresample Image, got {type(image).__name__}")
    source, target = image.pixel_type, as_pixel_type(pixel_type)
    refusal = None
    if source.is_vector and not target.is_vector:
        refusal = ("select a component first, e.g. gr.image_from_array(np.asarray(img)"
                   "[..., 0]), or cast to a VECTOR_ type")
    elif source.is_complex and not target.is_complex:
        refusal = ("take the modulus, np.abs(img) (an image), or the real part, "
                   "gr.image_from_array(np.asarray(img).real)")
    if refusal:
        raise TypeError(f"cannot cast {source.name} to {target.name} (SimpleITK refuses it "
                        f"too): {refusal}")
    if image.is_lazy:   # per chunk, the same conversion
        array = image.data.map_blocks(c_cast_array, target.dtype, dtype=target.dtype)
    else:
        array = c_cast_array(image._array, target.dtype)
    if target.is_vector and not source.is_vector:
        array = array[..., None]
    return Image._from_array(array, is_vector=target.is_vector, origin=image.origin,
                             spacing=image.spacing, direction=image.direction)


def rescale_intensity(image: Image, output_minimum: float = 0.0,
                      output_maximum: float = 255.0) -> Image:
    """Map ``image``'s intensity range linearly onto [output_minimum, output_maximum].

    SimpleITK's ``RescaleIntensity``, exactly: the output type is the **input's** type;
    ``output_minimum``/``output_maximum`` are first converted to it (a C cast: 300 becomes
    44 for UINT8); with the image's minimum and maximum (NaN ignored; for a vector image
    per component, as SimpleITK rescales each component on its own),
    ``scale = (max_out - min_out) / (max_in - min_in)`` when the two differ (floating
    types: by more than 4 ulp, ITK's AlmostEquals), else ``(max_out - min_out) / max_in``
    when ``max_in`` is not (almost) 0, else 0; ``shift = min_out - min_in * scale``. Each
    value ``v * scale + shift`` (float64) is truncated to the pixel type, then clamped to
    [output_minimum, output_maximum].

    Parameters
    ----------
    image : Image
        Scalar or vector, integer or floating; complex images are refused (as SimpleITK).
    output_minimum, output_maximum : float
        Default 0 and 255.

    Returns
    -------
    Image
        Same pixel type, device and geometry; no metadata (as SimpleITK).

    Raises
    ------
    ValueError
        output_minimum > output_maximum once both are converted to the pixel type.

    Examples
    --------
    >>> img = Image._from_array(np.array([[-1.0, 0.0, 0.5, 3.0]], np.float32), is_vector=False)
    >>> np.asarray(rescale_intensity(img)).tolist()
    [[0.0, 63.75, 95.625, 255.0]]
    """
    if not isinstance(image, Image):
        raise TypeError(f"rescale_intensity takes a gpuresample Image, got "
                        f"{type(image).__name__}")
    if image.pixel_type.is_complex:
        raise TypeError(f"rescale_intensity is not defined for {image.pixel_type.name} "
                        "images (SimpleITK refuses complex pixels): rescale np.abs(img) or "
                        "the real part")
    dtype = image.dtype
    low, high = c_cast_value(float(output_minimum), dtype), c_cast_value(float(output_maximum),
                                                                         dtype)
    if low > high:
        raise ValueError(f"output_minimum ({output_minimum}, as {dtype}: {low}) is greater "
                         f"than output_maximum ({output_maximum}, as {dtype}: {high})")
    source = image._array
    if image.pixel_type.is_vector:
        out = source.copy()
        for k in range(source.shape[-1]):
            out[..., k] = _rescale(source[..., k], low, high)
    else:
        out = _rescale(source, low, high)
    return Image._from_array(out, is_vector=image.pixel_type.is_vector, origin=image.origin,
                             spacing=image.spacing, direction=image.direction)


def _rescale(values: Any, low: np.generic, high: np.generic) -> Any:
    """RescaleIntensityImageFilter on one component array (numpy or CuPy)."""
    dtype = values.dtype
    in_min, in_max = _minimum_maximum(values)
    span = float(high) - float(low)
    if not _almost_equal(in_min, in_max, dtype):
        scale = span / (float(in_max) - float(in_min))
    elif not _almost_equal(in_max, 0, dtype):
        scale = span / float(in_max)
    else:
        scale = 0.0
    shift = float(low) - float(in_min) * scale
    with np.errstate(invalid="ignore", over="ignore"):
        result = c_cast_array(values.astype(np.float64) * scale + shift, dtype)
    result[result > high] = high
    result[result < low] = low
    return result


def _minimum_maximum(values: Any) -> tuple[np.generic, np.generic]:
    """ITK's MinimumMaximumImageCalculator: NaN never wins a comparison, so it is ignored;
    with no other value the start values (type max, type lowest) remain."""
    dtype = values.dtype
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    if dtype.kind == "f":
        values = values[values == values]
    if values.size == 0:
        return dtype.type(info.max), dtype.type(info.min)
    return dtype.type(values.min().item()), dtype.type(values.max().item())


def _almost_equal(a: Any, b: Any, dtype: np.dtype) -> bool:
    """itk::Math::AlmostEquals for two values of ``dtype``: exact for integers; for floats
    FloatAlmostEqual (|a - b| <= 0.1·eps, or same sign and at most 4 ulp apart)."""
    if dtype.kind != "f":
        return int(a) == int(b)
    a, b = dtype.type(a), dtype.type(b)
    with np.errstate(invalid="ignore", over="ignore"):
        if abs(a - b) <= dtype.type(0.1 * float(np.finfo(dtype).eps)):
            return True
    if bool(np.signbit(a)) != bool(np.signbit(b)):
        return False
    return abs(_ulp_index(a) - _ulp_index(b)) <= 4


def _ulp_index(x: np.floating) -> int:
    """ITK's FloatIEEE::AsULP: the bit pattern as a signed-magnitude integer."""
    bits = 8 * x.dtype.itemsize
    u = int(np.array(x).view(f"u{x.dtype.itemsize}"))
    magnitude = u & ((1 << (bits - 1)) - 1)
    return -magnitude if u >> (bits - 1) else magnitude
