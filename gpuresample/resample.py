"""``resample``: validate the request, plan it, run it on a backend, wrap the result.

The transform maps points of the OUTPUT grid to points of the INPUT image (ITK's
convention). A transform that moves the input ("moving -> fixed") must be inverted first,
or the result is all background: the classic black-image pitfall.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .backends import get_backend, resolve_device
from .capabilities import INTERPOLATORS, PRECISIONS, check_supported, transform_kind
from .geometry import Grid
from .grids import grid_of, output_grid
from .image import Image
from .pixeltypes import PixelType, as_pixel_type
from .plan import make_plan, stack_plans
from .transforms import CompositeTransform, Transform

__all__ = ["resample", "resample_batch"]

_INTERPOLATOR_ALIASES = {
    "linear": "linear", "bilinear": "linear", "trilinear": "linear", 2: "linear",
    "nearest": "nearest", "nearest_neighbor": "nearest", "nearestneighbor": "nearest",
    "nearest_neighbour": "nearest", 1: "nearest",
    "label_linear": "label_linear", "labellinear": "label_linear", 26: "label_linear",
}


def _interpolator(value) -> str:
    key = value.lower() if isinstance(value, str) else value
    if isinstance(key, bool) or key not in _INTERPOLATOR_ALIASES:
        raise ValueError(f"unknown interpolator {value!r}; use one of {', '.join(INTERPOLATORS)}")
    return _INTERPOLATOR_ALIASES[key]


def _transform_chain(transform, dimension: int) -> list:
    """The member list (applied last first) of ``transform``; nested composites flattened."""
    if transform is None:
        return []
    if not isinstance(transform, Transform):
        raise TypeError(f"transform must be a gpuresample Transform, got "
                        f"{type(transform).__name__} (SimpleITK transforms: gr.from_sitk(t))")
    if isinstance(transform, CompositeTransform):
        return [m for t in transform.transforms for m in _transform_chain(t, dimension)]
    t_dim = getattr(transform, "dimension", None)
    if t_dim is not None and t_dim != dimension:
        raise ValueError(f"the transform is {t_dim}-D but the image is {dimension}-D")
    return [transform]


def _output_pixel_type(input_type: PixelType, requested) -> PixelType:
    if requested is None:
        return input_type
    out = as_pixel_type(requested)
    if input_type.is_complex != out.is_complex:
        raise ValueError(f"cannot resample {input_type.description} pixels to "
                         f"{out.description}: complex images stay complex")
    if input_type.is_vector and not out.is_vector:
        out = out.vector   # a component type given for a vector image
    if out.is_vector and not input_type.is_vector:
        raise ValueError(f"a scalar image cannot be resampled to the vector type {out.name}")
    return out


def _real_dtype(pixel_type: PixelType) -> np.dtype:
    dt = pixel_type.dtype
    return np.dtype(np.float32 if dt == np.complex64 else np.float64) if dt.kind == "c" else dt


def _move(array, backend_name: str):
    """``array`` (numpy or cupy) on the memory the backend works in."""
    on_gpu = type(array).__module__.split(".")[0] == "cupy"
    if backend_name == "cuda" and not on_gpu:
        import cupy
        return cupy.ascontiguousarray(cupy.asarray(array))
    if backend_name != "cuda" and on_gpu:
        return array.get()
    return array


def resample(image: Image, transform: Transform | None = None, interpolator="linear",
             default_value: float | complex = 0.0, output_pixel_type=None, *,
             reference: Image | Grid | None = None, size=None, origin=None, spacing=None,
             direction=None, device: str | None = None, precision: str = "exact",
             chunks=None) -> Image:
    """Resample ``image`` onto an output grid through ``transform``, as SimpleITK does.

    Parameters
    ----------
    image : Image
        2-D or 3-D; scalar, vector or complex; any pixel type.
    transform : Transform, optional
        Maps OUTPUT physical points to INPUT physical points (identity if None). A
        registration's fixed->moving transform is used as is; a transform that moves the
        image must be inverted first (``t.inverse()``), else the result is all background.
        Any affine-family transform, B-spline, displacement field, or a composite of them
        (at most 8 members when one is deformable).
    interpolator : {"linear", "nearest", "label_linear"}
        "label_linear" (scalar images): SimpleITK's sitkLabelLinear, the label whose
        linearly interpolated indicator is largest (ties: the smallest label); the
        label keeps its type.
    default_value : float
        Value of output voxels that map outside the input; converted to the output type
        with a plain cast (no clamping: -1 as UINT8 is 255), as SimpleITK does.
    output_pixel_type : PixelType or dtype, optional
        Defaults to the input's. Interpolated values are clamped to its range, then
        truncated toward zero for integer types.
    reference : Image or Grid, optional
        Output grid (size, origin, spacing, direction). Without it, the input's grid.
    size, origin, spacing, direction : optional
        Replace that field of the grid (reference's or input's). ``spacing`` without
        ``size`` keeps the physical extent. Unlike SimpleITK's ``Resample(img, size)``,
        missing fields are never 0/1/identity defaults.
    device : {None, "cpu", "cuda", "cuda:N", "cuda-host"}
        None: where the image is, and for host images the GPU when one is usable.
        The result comes back on the image's device unless ``device`` names another.
    precision : {"exact", "fast"}
        "exact": float64 arithmetic, bit-identical to SimpleITK. "fast": float32.
    chunks : int or sequence, optional
        Resample block by block (:mod:`gpuresample.blocks`) and return a lazy image whose
        dask chunks are the output blocks: an int (a cube's edge) or, per axis (x, y[, z]),
        an int or the block lengths. A lazy ``image`` (``read_image(..., lazy=True)``, a
        dask array) is always resampled so, by default in blocks of 128^3 (1024^2 in 2-D).
        Each block reads only the input region it needs and equals the whole resampling
        bit for bit. Nothing runs until ``.compute()`` or ``write_image``.

    Returns
    -------
    Image on the output grid, without metadata (as SimpleITK); lazy for a lazy input or
    with ``chunks``.

    Examples
    --------
    >>> import numpy as np, gpuresample as gr
    >>> img = gr.image_from_array(np.arange(12, dtype=np.float32).reshape(3, 4))
    >>> out = gr.resample(img, gr.TranslationTransform((0.5, 0.0)), device="cpu")
    >>> gr.array_from_image(out)[0].tolist()
    [0.5, 1.5, 2.5, 0.0]
    >>> lazy = gr.resample(img, gr.TranslationTransform((0.5, 0.0)), device="cpu", chunks=2)
    >>> lazy.is_lazy, gr.array_from_image(lazy)[0].tolist()
    (True, [0.5, 1.5, 2.5, 0.0])
    """
    return _resample([image], [transform], interpolator, default_value, output_pixel_type,
                     reference, size, origin, spacing, direction, device, precision,
                     chunks)[0]


def resample_batch(images: Image | Sequence[Image], transforms: Sequence,
                   interpolator="linear", default_value: float | complex = 0.0,
                   output_pixel_type=None, *, reference: Image | Grid | None = None,
                   size=None, origin=None, spacing=None, direction=None,
                   device: str | None = None, precision: str = "exact") -> list[Image]:
    """Resample many (image, transform) pairs onto one output grid, in one launch per path.

    Either one image through many transforms (``images`` an Image), or a stack of images
    on the same grid, with the same pixel type and device, one transform each (the
    augmentation case). Every result is exactly what :func:`resample` gives for its pair
    (tested bit for bit); the batch runs as one kernel launch for the linear transforms and
    one for the deformable ones. The output grid is set as in :func:`resample`, from the
    first image when no ``reference`` is given.

    Returns
    -------
    list of Image, one per transform, in order.

    Examples
    --------
    >>> import numpy as np, gpuresample as gr
    >>> img = gr.image_from_array(np.arange(12, dtype=np.float32).reshape(3, 4))
    >>> shifts = [gr.TranslationTransform((dx, 0.0)) for dx in (0.0, 1.0)]
    >>> [gr.array_from_image(o)[0].tolist() for o in gr.resample_batch(img, shifts,
    ...                                                                device="cpu")]
    [[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 0.0]]
    """
    transforms = list(transforms)
    if not transforms:
        raise ValueError("resample_batch needs at least one transform")
    if isinstance(images, Image):
        images = [images] * len(transforms)
    images = list(images)
    if len(images) != len(transforms):
        raise ValueError(f"got {len(images)} images for {len(transforms)} transforms")
    return _resample(images, transforms, interpolator, default_value, output_pixel_type,
                     reference, size, origin, spacing, direction, device, precision)


def _check_batch(images: Sequence[Image]) -> None:
    """Every image of a batch is an Image on the first one's grid, type and device."""
    for img in images:
        if not isinstance(img, Image):
            raise TypeError(f"image must be a gpuresample Image, got {type(img).__name__}")
    first = images[0]
    for k, img in enumerate(images[1:], start=1):
        same = (img.size == first.size and img.origin == first.origin
                and img.spacing == first.spacing
                and np.array_equal(img.direction, first.direction))
        if not same:
            raise ValueError(f"batch image {k} is not on the first image's grid")
        if (img.pixel_type, img.number_of_components, img.device) != (
                first.pixel_type, first.number_of_components, first.device):
            raise ValueError(f"batch image {k} differs from the first in pixel type, "
                             "components or device")


def _lazy_result(image: Image, job, grid: Grid, chunks) -> Image:
    """The lazy Image of a block-wise resampling (see :mod:`gpuresample.blocks`)."""
    from ._arrays import import_dask
    from .blocks import default_block_edge, lazy_resample, normalize_chunks

    da = import_dask()
    blocks = normalize_chunks(chunks, grid.size, default_block_edge(grid.dimension))
    if job.whole_rows:
        blocks[0] = (grid.size[0],)
    source = image.data
    if not image.is_lazy:
        host = _move(source, "cpu")
        source = da.from_array(host, chunks=host.shape)   # one chunk: already in memory
    array = lazy_resample(source, job, blocks)
    return Image._from_array(array, is_vector=job.out_vector, origin=grid.origin,
                             spacing=grid.spacing, direction=grid.direction)


def _resample(images, transforms, interpolator, default_value, output_pixel_type,
              reference, size, origin, spacing, direction, device, precision,
              chunks=None) -> list[Image]:
    _check_batch(images)
    image = images[0]
    dimension = image.dimension
    if dimension not in (2, 3):
        raise ValueError(f"resampling supports 2-D and 3-D images; this image is {dimension}-D")
    chains = [_transform_chain(t, dimension) for t in transforms]
    interp = _interpolator(interpolator)
    if interp == "label_linear" and (image.pixel_type.is_vector or image.pixel_type.is_complex):
        raise ValueError(f"label_linear interpolates scalar label images, not "
                         f"{image.pixel_type.description} pixels")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    base = image_grid = grid_of(image)
    if reference is not None:
        base = grid_of(reference)
        if base.dimension != dimension:
            raise ValueError(f"the reference is {base.dimension}-D but the image is "
                             f"{dimension}-D")
    grid = output_grid(base, size=size, origin=origin, spacing=spacing, direction=direction)
    in_type = image.pixel_type
    out_type = _output_pixel_type(in_type, output_pixel_type)
    if isinstance(default_value, (bool, np.bool_)) or not np.isscalar(default_value):
        raise TypeError(f"default_value must be a number, got {default_value!r}")

    on_gpu = image.device.startswith("cuda")
    backend_name = resolve_device(device, on_gpu)
    for kind in sorted({transform_kind(t) for chain in chains for t in chain} or {"affine"}):
        check_supported(backend_name, transform_kind=kind)
    check_supported(backend_name, interpolator=interp, pixel_type=in_type,
                    precision=precision, dimension=dimension)
    backend = get_backend(backend_name)

    in_real, out_real = _real_dtype(in_type), _real_dtype(out_type)
    components = image.number_of_components * (2 if in_type.is_complex else 1)
    if image.is_lazy or chunks is not None:
        if len(images) > 1:
            raise ValueError("resample_batch takes in-memory images only; resample lazy "
                             "images one at a time with resample()")
        from .blocks import BlockJob

        job = BlockJob(image_grid, grid, tuple(chains[0]), interp, in_real, out_real,
                       components, default_value, precision, in_type.is_complex,
                       backend_name, in_type.dtype, out_type.dtype, in_type.is_vector,
                       out_type.is_vector)
        return [_lazy_result(image, job, grid, chunks)]
    plans = [make_plan(image_grid, grid, chain, interp, in_real, out_real, components,
                       default_value, precision, complex_pixels=in_type.is_complex)
             for chain in chains]
    shared = all(img is image for img in images)
    xp = backend.xp()
    results: list = [None] * len(plans)
    # one launch per path: the scan-line rows of linear chains, the per-voxel stages
    for per_voxel in (False, True):
        group = [b for b, p in enumerate(plans) if p.per_voxel == per_voxel]
        if not group:
            continue
        plan = stack_plans([plans[b] for b in group])
        arrays = [_move(images[b]._array, backend_name) for b in (group[:1] if shared else group)]
        src = arrays[0] if len(arrays) == 1 else xp.stack(arrays)
        if in_type.is_complex:
            src = src.view(in_real)
        src = xp.ascontiguousarray(src).reshape(len(arrays), *plan.in_size[::-1], components)
        out = xp.empty((len(group), *plan.out_size[::-1], components), dtype=out_real)
        backend.execute(plan, src, out, 0 if shared else src[0].size)
        for k, b in enumerate(group):
            results[b] = out[k]

    shape = tuple(grid.size[::-1]) + ((image.number_of_components,) if out_type.is_vector else ())
    wanted = ("cuda" if on_gpu else "cpu") if device is None else backend_name
    images_out = []
    for out in results:
        result = out.reshape(-1).view(out_type.dtype).reshape(shape)
        if wanted == "cpu" or wanted == "cuda-host":
            result = _move(result, "cpu")
        images_out.append(Image._from_array(result, is_vector=out_type.is_vector,
                                            origin=grid.origin, spacing=grid.spacing,
                                            direction=grid.direction))
    return images_out
