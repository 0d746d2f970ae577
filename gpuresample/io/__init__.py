"""Reading and writing images: one function each, the format chosen by the extension.

Each format lives in its own submodule (``metaimage``, ``nrrd``, ``nifti``, ``dicom``,
``tiff``, ``raster``, ``omezarr``) with ``read(path, **options)`` and ``write(image, path, *, compress,
**options)``; :mod:`gpuresample.io.formats` says what each stores. The format libraries
(pydicom, tifffile, nibabel, pynrrd, Pillow) are optional and imported on first use.

Example
-------
>>> import os, tempfile, numpy as np, gpuresample as gr
>>> img = gr.image_from_array(np.arange(12, dtype=np.int16).reshape(3, 4))
>>> img.spacing = (0.5, 2.0)
>>> path = os.path.join(tempfile.mkdtemp(), "a.mha")
>>> write_image(img, path)
>>> back = read_image(path)
>>> back.spacing, back.pixel_type.name
((0.5, 2.0), 'INT16')
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Sequence

from ..image import Image
from .common import ImageFileError
from .dicom import dicom_series_files, dicom_series_ids
from .dicom import write_series as write_dicom_series
from .formats import FORMATS, FileFormat, format_by_name, format_for_path

__all__ = ["read_image", "write_image", "dicom_series_ids", "dicom_series_files",
           "write_dicom_series", "FORMATS", "FileFormat", "ImageFileError"]

PathLike = str | os.PathLike


def _module(fmt: FileFormat):
    return importlib.import_module(f"{__name__}.{fmt.module}")


def _resolve(path: PathLike, format: str | None) -> FileFormat:
    return format_by_name(format) if format is not None else format_for_path(path)


_LAZY_FORMATS = ("metaimage", "nifti", "ome-zarr")


def read_image(path: PathLike | Sequence[PathLike], pixel_type: Any = None, *,
               format: str | None = None, lazy: bool | None = None, chunks=None,
               **options: Any) -> Image:
    """Read an image file, or a list of files as one volume (a series).

    Parameters
    ----------
    path : path or sequence of paths
        One file: its extension picks the format (``format=`` overrides). A list or tuple:
        the files are slices stacked along a new last axis in the given order (a DICOM
        series gets its geometry from the files, as ITK's ImageSeriesReader; order it with
        :func:`gpuresample.dicom_series_files`).
    pixel_type : PixelType or dtype, optional
        Cast the result to this type (SimpleITK's ``ReadImage(path, outputPixelType)``:
        a plain per-component cast).
    format : str, optional
        A name from :data:`gpuresample.io.FORMATS`.
    lazy : bool, optional
        Return a lazy image (pixels as a ``dask.array``, read chunk by chunk when
        needed; geometry read now): uncompressed MetaImage (.mha/.mhd + .raw) and NIfTI
        (.nii) files and lists of them (a series), memory-mapped; OME-Zarr and Zarr folders are read so unless
        ``lazy=False`` (which reads their pixels now). Default: lazy for Zarr only.
    chunks : optional
        Dask chunks of a lazy image, numpy order ([z,] y, x); default 128 voxels an axis
        (Zarr: the store's chunks).
    **options
        Passed to the format's reader (see its module); OME-Zarr: ``level=``, and
        ``spacing=``/``origin=``/``direction=`` for plain Zarr arrays.

    Raises
    ------
    FileNotFoundError, ImageFileError (a ValueError) for damaged or truncated files,
    ImportError naming the extra when the format's library is missing.

    Examples
    --------
    >>> import os, tempfile, numpy as np, gpuresample as gr
    >>> path = os.path.join(tempfile.mkdtemp(), "big.mha")
    >>> gr.write_image(gr.image_from_array(np.ones((4, 5, 6), np.int16)), path)
    >>> lazy = gr.read_image(path, lazy=True)
    >>> lazy.is_lazy, lazy.size, int(gr.array_from_image(lazy).sum())
    (True, (6, 5, 4), 120)
    """
    if isinstance(path, (list, tuple)):
        if not path:
            raise ValueError("read_image got an empty list of files")
        fmt = _resolve(path[0], format)
        if lazy:
            if fmt.name not in ("metaimage", "nifti"):
                raise ValueError(f"a series of {fmt.name} files cannot be read lazily; "
                                 "lazy=True reads series of uncompressed MetaImage and NIfTI "
                                 "files")
            options.update(lazy=True, chunks=chunks)
        image = _module(fmt).read_series([os.fspath(p) for p in path], **options)
    else:
        name = os.fspath(path)
        fmt = _resolve(name, format) if (format is not None or not os.path.isdir(name)
                                         or name.rstrip("/\\").lower().endswith(".zarr")) \
            else None
        if os.path.isdir(name) and (fmt is None or fmt.module != "omezarr"):
            raise IsADirectoryError(f"{name} is a folder; for a DICOM series use "
                                    "read_image(gr.dicom_series_files(folder))")
        if not os.path.exists(name):
            raise FileNotFoundError(f"no such image file: {name}")
        if fmt.name == "ome-zarr":
            options.update(lazy=lazy is not False, chunks=chunks)
        elif lazy:
            if fmt.name not in _LAZY_FORMATS:
                raise ValueError(f"{fmt.name} files cannot be read lazily; lazy=True reads "
                                 "uncompressed MetaImage and NIfTI files and (OME-)Zarr")
            options.update(lazy=True, chunks=chunks)
        image = _module(fmt).read(name, **options)
    if pixel_type is not None:
        from ..intensity import cast
        image = cast(image, pixel_type)
    return image


def write_image(image: Image, path: PathLike | Sequence[PathLike], *, compress: bool = False,
                format: str | None = None, **options: Any) -> None:
    """Write an image to a file, or a volume to one file per slice along its last axis.

    Parameters
    ----------
    image : Image
        On any device (GPU images are copied to the host).
    path : path or sequence of paths
        One file, format from the extension (``format=`` overrides); or as many paths as
        the image has slices along its last axis (z for 3-D), e.g. the notebook's JPEG
        slices ``[f"slice{i:03d}.jpg" for i in range(img.size[2])]``.
    compress : bool
        Compress where the format can (gzip/zlib for MetaImage, NRRD; deflate for TIFF).
    format : str, optional
    **options
        Passed to the format's writer. OME-Zarr (``.ome.zarr``, a folder): ``version=``
        ("0.4" or "0.5"), ``chunks=``, ``levels=`` (a multiscale pyramid), ``unit=``,
        ``progress=``; a lazy image is written block by block, memory bounded. Other
        formats compute a lazy image first (``progress=`` shows it).

    Files are written under a temporary name and renamed, so a failure never leaves half a
    file. A pixel type or dimension the format cannot store raises ValueError naming it.
    """
    if not isinstance(image, Image):
        raise TypeError(f"write_image takes a gpuresample Image, got {type(image).__name__}")
    image = image.to("cpu")
    if isinstance(path, (list, tuple)):
        paths = [os.fspath(p) for p in path]
        if paths and _resolve(paths[0], format).name == "dicom":
            # a DICOM series keeps the volume's geometry in every slice's tags
            write_dicom_series(image, paths, compress=compress, **options)
            return
        depth = image.size[-1]
        if len(paths) != depth:
            raise ValueError(f"got {len(paths)} file names for an image with {depth} slices "
                             "along its last axis")
        for k, name in enumerate(paths):
            index = (slice(None),) * (image.dimension - 1) + (k,)
            write_image(image[index], name, compress=compress, format=format, **options)
        return
    name = os.fspath(path)
    fmt = _resolve(name, format)
    if image.is_lazy and fmt.module != "omezarr":
        image = image.compute(progress=options.pop("progress", False))
    if image.pixel_type not in fmt.pixel_types:
        raise ValueError(f"{fmt.name} files cannot store {image.pixel_type.description} "
                         f"pixels ({image.pixel_type.name}); cast first, e.g. "
                         "gr.cast(gr.rescale_intensity(img), gr.PixelType.UINT8)")
    if image.dimension not in fmt.dimensions:
        raise ValueError(f"{fmt.name} files store {sorted(fmt.dimensions)}-D images, this one "
                         f"is {image.dimension}-D")
    if fmt.module == "raster":
        options["format"] = fmt.name   # one module writes PNG, JPEG and BMP
    _module(fmt).write(image, name, compress=compress, **options)
