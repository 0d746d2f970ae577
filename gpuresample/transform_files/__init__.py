"""Reading and writing transform files: one function each, the format chosen by the name.

=====================================  =============================================
file                                   format (module)
=====================================  =============================================
``.tfm``, ``.txt``                     ITK text, "#Insight Transform File V1.0"
                                       (:mod:`.itk_text`)
``.h5``, ``.hdf5``                     ITK HDF5 (:mod:`.itk_hdf5`, the ``hdf5`` extra)
``.mat``                               ITK / ANTs MATLAB v4 (:mod:`.matlab`)
``.nii``, ``.nii.gz``, ``.nrrd``,      a displacement field stored as a vector image,
``.nhdr``, ``.mha``, ``.mhd``          ANTs warps included (:mod:`.fields`)
``TransformParameters*.txt``, or a     an elastix parameter file (:mod:`.elastix`,
file starting with ``(Transform ...``  read only)
=====================================  =============================================

A ``.txt`` or ``.tfm`` file is read as elastix when its name matches
``TransformParameters*.txt`` or its first content (after ``//`` comments) is an elastix
``(Name value)`` entry (:func:`.elastix.is_parameter_file`); otherwise as ITK text. Files
of other extensions are recognised by their content: elastix entries, or ITK's
"#Insight Transform File" header. Everything read is what SimpleITK's ``ReadTransform`` gives
(bit-identical parameters and points); everything written reads back in SimpleITK to the
same parameters and fixed parameters.

Example
-------
>>> import os, tempfile
>>> from gpuresample.transforms import CompositeTransform, ScaleTransform, TranslationTransform
>>> t = CompositeTransform([TranslationTransform((10.0, 0.0)), ScaleTransform((2.0, 2.0))])
>>> path = os.path.join(tempfile.mkdtemp(), "chain.tfm")
>>> write_transform(t, path)
>>> read_transform(path).transform_point((1.0, 1.0))
(12.0, 2.0)
"""

from __future__ import annotations

import fnmatch
import os

from ..transforms import Transform
from . import fields, itk_hdf5, itk_text, matlab
from ._common import TransformFileError

__all__ = ["read_transform", "write_transform", "TransformFileError", "FORMATS"]

PathLike = str | os.PathLike

# format name -> the extensions that select it (elastix is found by name or content)
FORMATS = {"itk-text": (".tfm", ".txt"), "hdf5": (".h5", ".hdf5"), "matlab": (".mat",),
           "field": fields.EXTENSIONS, "elastix": ()}
_WRITERS = {"itk-text": itk_text.write, "hdf5": itk_hdf5.write, "matlab": matlab.write,
            "field": fields.write}
_ELASTIX_NAME = "TransformParameters*.txt"


def read_transform(path: PathLike, *, format: str | None = None) -> Transform:
    """Read a transform file (ITK text, HDF5 or MATLAB; a displacement field image; an
    elastix parameter file) as SimpleITK's ``ReadTransform`` does.

    Parameters
    ----------
    path : path
        The format follows from the name and, for text files, the content (see the module
        docstring); ``format=`` (a key of :data:`FORMATS`) overrides.

    Returns
    -------
    Transform
        A file whose first transform is a composite gives a :class:`CompositeTransform` of
        the following ones, in order of addition (the last one is applied first).

    Raises
    ------
    FileNotFoundError, TransformFileError (a ValueError) naming the file and the problem:
    empty, truncated or damaged files, unknown or unsupported transform kinds, wrong
    parameter counts. ImportError naming the extra when h5py is missing.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(f"{name} is a folder, not a transform file")
    if not os.path.exists(name):
        raise FileNotFoundError(f"no such transform file: {name}")
    kind = _check_format(format) if format is not None else _read_format(name)
    if kind == "elastix":
        from . import elastix    # imported on first use

        return elastix.read(name)
    return {"itk-text": itk_text.read, "hdf5": itk_hdf5.read, "matlab": matlab.read,
            "field": fields.read}[kind](name)


def write_transform(transform: Transform, path: PathLike, *, format: str | None = None
                    ) -> None:
    """Write a transform file that SimpleITK's ``ReadTransform`` reads back to the same
    parameters and fixed parameters.

    The extension picks the format (``format=`` overrides): ``.tfm`` / ``.txt`` ITK text,
    ``.h5`` / ``.hdf5`` ITK HDF5, ``.mat`` MATLAB (one transform only), an image extension
    a displacement field's vectors. Nested composites are written flattened (ITK cannot
    store them; the members apply in the same order). The file is written under a
    temporary name and renamed, so a failure never leaves half a file. elastix files are
    not written.
    """
    if not isinstance(transform, Transform):
        raise TypeError(f"write_transform takes a gpuresample Transform, got "
                        f"{type(transform).__name__}")
    name = os.fspath(path)
    if format is not None:
        kind = _check_format(format)
    else:
        if fnmatch.fnmatchcase(os.path.basename(name), _ELASTIX_NAME):
            raise ValueError(f"{name}: names like {_ELASTIX_NAME} are read as elastix "
                             "parameter files, which gpuresample does not write; choose "
                             "another name")
        kind = _by_extension(name)
        if kind is None:
            raise ValueError(f"cannot tell the transform format of {name!r} from its "
                             f"extension; known extensions: {_known()}")
    if kind == "elastix":
        raise ValueError("gpuresample does not write elastix parameter files")
    _WRITERS[kind](transform, name)


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"unknown transform file format {format!r}; known: "
                         f"{', '.join(FORMATS)}")
    return format


def _known() -> str:
    return ", ".join(ext for exts in FORMATS.values() for ext in exts)


def _by_extension(name: str) -> str | None:
    lower = name.lower()
    for kind, extensions in FORMATS.items():
        if lower.endswith(extensions):
            return kind
    return None


def _read_format(name: str) -> str:
    kind = _by_extension(name)
    if kind not in (None, "itk-text"):
        return kind
    if kind == "itk-text" and fnmatch.fnmatchcase(os.path.basename(name), _ELASTIX_NAME):
        return "elastix"
    from . import elastix    # imported on first use

    if elastix.is_parameter_file(name):
        return "elastix"
    if kind is None:
        with open(name, "rb") as f:
            head = f.read(len(itk_text.HEADER) + 64).lstrip()
        if not head.startswith(itk_text.HEADER.encode()):
            raise TransformFileError(f"{name}: cannot tell the transform format: the "
                                     f"extension is none of {_known()} and the content is "
                                     "neither an ITK nor an elastix transform file")
    return "itk-text"     # ITK reads text files without the header line too
