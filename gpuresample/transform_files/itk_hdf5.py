"""ITK's HDF5 transform files (``.h5``, ``.hdf5``), through h5py (the ``hdf5`` extra).

Layout (as ITK's ``HDF5TransformIO`` writes it, HDF5 1.8 file format)::

    /ITKVersion, /HDFVersion, /OSName, /OSVersion      one variable-length string each
    /TransformGroup/0/TransformType                    ["AffineTransform_double_3_3"]
    /TransformGroup/0/TransformFixedParameters         float64 (n,)
    /TransformGroup/0/TransformParameters              float64 (n,)
    /TransformGroup/1/...

A composite is a group holding only ``TransformType`` (``CompositeTransform_double_D_D``),
followed by one group per member in order of addition (nested composites flattened).
Displacement fields are stored inline like every other kind (ANTs' composite ``.h5``
files hold ``DisplacementFieldTransform_float_3_3`` members in float32). Reading accepts
float32 or float64 datasets and the misspelled ``TranformParameters`` /
``TranformFixedParameters`` names that old ITK versions wrote, as ITK does.

The version strings are not read by ITK; this module writes ITKVersion as the ITK version
whose layout it follows.

Example
-------
>>> import os, tempfile
>>> from gpuresample.transforms import Euler2DTransform
>>> path = os.path.join(tempfile.mkdtemp(), "t.h5")
>>> write(Euler2DTransform(angle=0.5), path)
>>> read(path).parameters
(0.5, 0.0, 0.0)
"""

from __future__ import annotations

import os
import platform

import numpy as np

from ..io.common import atomic_write, require
from ..transforms import Transform
from ._common import COMPOSITE, Entry, TransformFileError, assemble, entries_of, parse_class_name

__all__ = ["read", "write", "ITK_LAYOUT_VERSION"]

ITK_LAYOUT_VERSION = "5.4.8"
_GROUP = "TransformGroup"
_NAMES = {"TransformParameters": ("TransformParameters", "TranformParameters"),
          "TransformFixedParameters": ("TransformFixedParameters", "TranformFixedParameters")}


def _h5py():
    return require("h5py", "hdf5", "reading and writing HDF5 transform files")


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------

def read(path: str | os.PathLike) -> Transform:
    """Read an ITK HDF5 transform file as SimpleITK's ``ReadTransform`` does;
    TransformFileError naming the file and the problem (not HDF5, truncated, no
    transform group, missing or mistyped datasets)."""
    h5py = _h5py()
    name = os.fspath(path)
    if os.path.getsize(name) == 0:
        raise TransformFileError(f"{name}: the file is empty")
    try:
        f = h5py.File(name, "r")
    except OSError as exc:
        raise TransformFileError(f"{name}: not a readable HDF5 file (truncated or damaged?): "
                                 f"{exc}") from None
    with f:
        try:
            return assemble(_entries(h5py, f, name), name)
        except (OSError, KeyError, RuntimeError) as exc:   # h5py's errors on damaged data
            raise TransformFileError(f"{name}: the HDF5 data cannot be read (truncated or "
                                     f"damaged?): {exc}") from None


def _entries(h5py, f, path: str) -> list[Entry]:
    group = f.get(_GROUP)
    if not isinstance(group, h5py.Group):
        raise TransformFileError(f"{path}: not an ITK transform file (no /{_GROUP} group)")
    entries = []
    for index in range(len(group)):      # ITK reads groups "0", "1", ... up to the count
        member = group.get(str(index))
        if not isinstance(member, h5py.Group):
            raise TransformFileError(f"{path}: /{_GROUP} holds {len(group)} objects but no "
                                     f"group /{_GROUP}/{index}")
        where = f"/{_GROUP}/{index}"
        name = _string(h5py, member, "TransformType", path, where)
        if parse_class_name(name, path, index)[0] == COMPOSITE:
            entries.append((name, None, None))
            continue
        fixed = _vector(h5py, member, "TransformFixedParameters", path, where)
        params = _vector(h5py, member, "TransformParameters", path, where)
        entries.append((name, params, fixed))
    return entries


def _string(h5py, group, key: str, path: str, where: str) -> str:
    ds = group.get(key)
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "OSU" or ds.size != 1:
        raise TransformFileError(f"{path}: {where}/{key} is missing or is not one string")
    value = ds[()]
    value = value.reshape(-1)[0] if isinstance(value, np.ndarray) else value
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise TransformFileError(f"{path}: {where}/{key} is not an ASCII string"
                                     ) from None
    return str(value).rstrip("\0")


def _vector(h5py, group, key: str, path: str, where: str) -> list[float]:
    ds = next((group[k] for k in _NAMES[key] if k in group), None)
    if not isinstance(ds, h5py.Dataset):
        raise TransformFileError(f"{path}: {where} has no {key} dataset")
    if ds.dtype.kind != "f" or ds.dtype.itemsize not in (4, 8) or ds.ndim != 1:
        raise TransformFileError(f"{path}: {where}/{ds.name.rsplit('/', 1)[-1]} must be a "
                                 f"1-D float32 or float64 dataset, got {ds.dtype} with shape "
                                 f"{ds.shape}")
    return ds[()].astype(np.float64).tolist()


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------

def write(transform: Transform, path: str | os.PathLike) -> None:
    """Write ``transform`` as SimpleITK's ``WriteTransform`` writes an HDF5 file."""
    h5py = _h5py()
    entries = entries_of(transform)
    text = h5py.string_dtype("ascii")
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w", libver=("v108", "v108")) as f:
            for key, value in (("ITKVersion", ITK_LAYOUT_VERSION),
                               ("HDFVersion", f"HDF5 library version: "
                                              f"{h5py.version.hdf5_version}"),
                               ("OSName", platform.system()),
                               ("OSVersion", platform.release())):
                f.create_dataset(key, data=[value], dtype=text)
            group = f.create_group(_GROUP)
            for index, (name, params, fixed) in enumerate(entries):
                member = group.create_group(str(index))
                member.create_dataset("TransformType", data=[name], dtype=text)
                if params is not None:
                    member.create_dataset("TransformFixedParameters",
                                          data=np.asarray(fixed, dtype=np.float64))
                    member.create_dataset("TransformParameters",
                                          data=np.asarray(params, dtype=np.float64))
