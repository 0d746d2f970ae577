"""NIfTI-1 header <-> ITK geometry, with ITK's and nifti1_io's arithmetic (no file access).

ITK (SimpleITK 2.5.7) reads NIfTI through nifti1_io, whose matrices are ``float``: the
qform matrix is computed in double from the quaternion and stored as float, and the
writer orthogonalises the direction and extracts the quaternion with float matrices
(``nifti_make_orthog_mat44``, ``nifti_mat33_polar``, ``nifti_mat44_to_quatern``). The
functions here repeat those operations step by step (float32 where C stores a float,
Python floats where it computes in double), so geometry read from a header and headers
written from an image are ITK's to the bit. The choice between sform and qform and the
RAS <-> LPS conversion are ITK's ``SetImageIOOrientationFromNIfTI`` /
``SetNIfTIOrientationFromImageIO`` (SEMANTICS §9.3).

Example
-------
>>> m = quatern_to_mat44(0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 0.5, 0.5, 2.0, 1.0)
>>> m[:3, :3].diagonal().tolist(), m[:3, 3].tolist()
([0.5, 0.5, 2.0], [1.0, 2.0, 3.0])
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping

import numpy as np

F32 = np.float32
XFORM_NAMES = {0: "NIFTI_XFORM_UNKNOWN", 1: "NIFTI_XFORM_SCANNER_ANAT",
               2: "NIFTI_XFORM_ALIGNED_ANAT", 3: "NIFTI_XFORM_TALAIRACH",
               4: "NIFTI_XFORM_MNI_152"}
SPACE_SCALE = {1: 1e3, 2: 1.0, 3: 1e-3}            # metre, mm, micron -> mm
TIME_SCALE = {8: 1.0, 16: 1e-3, 24: 1e-6}          # s, ms, us -> s
INTENT_DISPVECT, INTENT_VECTOR, INTENT_SYMMATRIX, INTENT_GENMATRIX = 1006, 1007, 1005, 1004


# --------------------------------------------------------------------------- nifti1_io
def quatern_to_mat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac) -> np.ndarray:
    """``nifti_quatern_to_mat44``: computed in double, stored as a float 4x4."""
    b, c, d = float(qb), float(qc), float(qd)
    a = 1.0 - (b * b + c * c + d * d)
    if a < 1.0e-7:                       # 180 degree rotation: normalise (b, c, d)
        a = 1.0 / math.sqrt(b * b + c * c + d * d)
        b, c, d, a = b * a, c * a, d * a, 0.0
    else:
        a = math.sqrt(a)
    xd = float(dx) if dx > 0 else 1.0
    yd = float(dy) if dy > 0 else 1.0
    zd = float(dz) if dz > 0 else 1.0
    if qfac < 0:
        zd = -zd
    m = np.zeros((4, 4), dtype=F32)
    m[0, :3] = [(a * a + b * b - c * c - d * d) * xd, 2.0 * (b * c - a * d) * yd,
                2.0 * (b * d + a * c) * zd]
    m[1, :3] = [2.0 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd,
                2.0 * (c * d - a * b) * zd]
    m[2, :3] = [2.0 * (b * d - a * c) * xd, 2.0 * (c * d + a * b) * yd,
                (a * a + d * d - c * c - b * b) * zd]
    m[:3, 3] = [qx, qy, qz]
    m[3, 3] = 1.0
    return m


def _determ(r: np.ndarray) -> F32:
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = r.astype(float).tolist()
    return F32(r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33 + r21 * r32 * r13
               + r31 * r12 * r23 - r31 * r22 * r13)


def _inverse(r: np.ndarray) -> np.ndarray:
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = r.astype(float).tolist()
    deti = (r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33 + r21 * r32 * r13
            + r31 * r12 * r23 - r31 * r22 * r13)
    if deti != 0.0:
        deti = 1.0 / deti
    return np.array([[deti * (r22 * r33 - r32 * r23), deti * (-r12 * r33 + r32 * r13),
                      deti * (r12 * r23 - r22 * r13)],
                     [deti * (-r21 * r33 + r31 * r23), deti * (r11 * r33 - r31 * r13),
                      deti * (-r11 * r23 + r21 * r13)],
                     [deti * (r21 * r32 - r31 * r22), deti * (-r11 * r32 + r31 * r12),
                      deti * (r11 * r22 - r21 * r12)]]).astype(F32)


def _rownorm(a: np.ndarray) -> F32:     # fabs() sums in double, kept as float
    return max(F32(sum(abs(float(x)) for x in row)) for row in a)


def _colnorm(a: np.ndarray) -> F32:
    return _rownorm(a.T)


def mat33_polar(a: np.ndarray) -> np.ndarray:
    """``nifti_mat33_polar``: the orthogonal matrix nearest ``a`` (Higham's iteration)."""
    x = np.array(a, dtype=F32)
    gam = _determ(x)
    while gam == 0.0:                    # perturb a singular matrix, as nifti1_io does
        gam = F32(0.00001 * (0.001 + float(_rownorm(x))))
        x[[0, 1, 2], [0, 1, 2]] += gam
        gam = _determ(x)
    dif, k = F32(1.0), 0
    while True:
        y = _inverse(x)
        if dif > 0.3:
            alp = F32(math.sqrt(float(F32(_rownorm(x) * _colnorm(x)))))
            bet = F32(math.sqrt(float(F32(_rownorm(y) * _colnorm(y)))))
            gam = F32(math.sqrt(float(F32(bet / alp))))
            gmi = F32(1.0 / float(gam))
        else:
            gam = gmi = F32(1.0)
        z = np.array([[0.5 * float(F32(gam * x[i, j]) + F32(gmi * y[j, i])) for j in range(3)]
                      for i in range(3)]).astype(F32)
        dif = F32(sum(abs(float(F32(z[i, j] - x[i, j]))) for i in range(3) for j in range(3)))
        k += 1
        if k > 100 or dif < 3.0e-6:
            return z
        x = z


def make_orthog_mat44(rows: np.ndarray) -> np.ndarray:
    """``nifti_make_orthog_mat44`` (3x3 part): rows normalised in float, then polar."""
    q = np.array(rows, dtype=F32)
    for i in range(3):
        val = float(F32(F32(F32(q[i, 0] * q[i, 0]) + F32(q[i, 1] * q[i, 1]))
                        + F32(q[i, 2] * q[i, 2])))
        if val > 0.0:
            q[i] = q[i] * F32(1.0 / math.sqrt(val))
        elif i < 2:
            q[i] = np.eye(3, dtype=F32)[i]
        else:
            q[2] = [F32(q[0, 1] * q[1, 2]) - F32(q[0, 2] * q[1, 1]),
                    F32(q[0, 2] * q[1, 0]) - F32(q[0, 0] * q[1, 2]),
                    F32(q[0, 0] * q[1, 1]) - F32(q[0, 1] * q[1, 0])]
    return mat33_polar(q)


def mat44_to_quatern(m: np.ndarray) -> tuple[F32, F32, F32, F32]:
    """``nifti_mat44_to_quatern``: (quatern_b, quatern_c, quatern_d, qfac) of a float 3x3."""
    r = m[:3, :3].astype(float)
    cols = []
    for j in range(3):
        col = r[:, j].tolist()
        norm = math.sqrt(col[0] * col[0] + col[1] * col[1] + col[2] * col[2])
        cols.append([x / norm for x in col] if norm != 0.0 else np.eye(3)[j].tolist())
    p = mat33_polar(np.array(cols).T.astype(F32)).astype(float)
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = p.tolist()
    det = (r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33 + r21 * r32 * r13
           + r31 * r12 * r23 - r31 * r22 * r13)
    qfac = 1.0
    if det <= 0:
        qfac, r13, r23, r33 = -1.0, -r13, -r23, -r33
    a = r11 + r22 + r33 + 1.0
    if a > 0.5:
        a = 0.5 * math.sqrt(a)
        b, c, d = 0.25 * (r32 - r23) / a, 0.25 * (r13 - r31) / a, 0.25 * (r21 - r12) / a
    else:
        xd, yd, zd = 1.0 + r11 - (r22 + r33), 1.0 + r22 - (r11 + r33), 1.0 + r33 - (r11 + r22)
        if xd > 1.0:
            b = 0.5 * math.sqrt(xd)
            c, d, a = 0.25 * (r12 + r21) / b, 0.25 * (r13 + r31) / b, 0.25 * (r32 - r23) / b
        elif yd > 1.0:
            c = 0.5 * math.sqrt(yd)
            b, d, a = 0.25 * (r12 + r21) / c, 0.25 * (r23 + r32) / c, 0.25 * (r13 - r31) / c
        else:
            d = 0.5 * math.sqrt(zd)
            b, c, a = 0.25 * (r13 + r31) / d, 0.25 * (r23 + r32) / d, 0.25 * (r21 - r12) / d
        if a < 0.0:
            b, c, d = -b, -c, -d
    return F32(b), F32(c), F32(d), F32(qfac)


# --------------------------------------------------------------------------- header -> nim
def _finite32(value: Any) -> F32:
    v = F32(value)
    return v if np.isfinite(v) else F32(0.0)


def to_nim(h: Mapping[str, Any]) -> dict[str, Any]:
    """The header fields as nifti1_io's ``nifti_image`` holds them after reading
    (``nifti_convert_nhdr2nim``: dims and pixdims fixed, codes, the two float matrices)."""
    magic = bytes(h["magic"]).rstrip(b"\x00")
    is_nifti = magic in (b"n+1", b"ni1") or (len(magic) == 3 and magic[0:1] == b"n"
                                             and magic[1:2] in b"i+" and magic[2:3].isdigit())
    dim = [int(x) for x in h["dim"]]
    ndim = dim[0]
    for i in range(1, 8):
        if i <= ndim and dim[i] <= 0:
            dim[i] = 1
        elif i > ndim and dim[i] not in (0, 1):
            dim[i] = 1
    pixdim = [F32(x) for x in h["pixdim"]]
    for i in range(1, min(ndim, 7) + 1):
        if pixdim[i] == 0 or not np.isfinite(pixdim[i]):
            pixdim[i] = F32(1.0)
    qform_code = int(h["qform_code"]) if is_nifti and int(h["qform_code"]) > 0 else 0
    sform_code = int(h["sform_code"]) if is_nifti and int(h["sform_code"]) > 0 else 0
    if qform_code:
        quatern = [_finite32(h[k]) for k in ("quatern_b", "quatern_c", "quatern_d",
                                             "qoffset_x", "qoffset_y", "qoffset_z")]
        qto = quatern_to_mat44(*quatern, pixdim[1], pixdim[2], pixdim[3],
                               -1.0 if F32(h["pixdim"][0]) < 0 else 1.0)
    else:
        quatern = [F32(0.0)] * 6
        qto = np.diag([pixdim[1], pixdim[2], pixdim[3], F32(1.0)]).astype(F32)
    sto = np.zeros((4, 4), dtype=F32)
    if sform_code:
        sto[:3] = np.array([h["srow_x"], h["srow_y"], h["srow_z"]], dtype=F32)
        sto[3, 3] = 1.0
    units = int(h["xyzt_units"]) if is_nifti else 0
    text = {k: bytes(h[k]).split(b"\x00")[0].decode("latin-1")
            for k in ("descrip", "aux_file", "intent_name")}
    vox_offset = float(h["vox_offset"])
    return {"is_nifti": is_nifti, "one_file": magic == b"n+1" or not is_nifti,
            # nifti1_io names a single .nii file type 1, also when it has no NIfTI magic
            "nifti_type": 1,
            "dim": dim, "pixdim": pixdim, "qform_code": qform_code, "sform_code": sform_code,
            "quatern": quatern, "qto": qto, "sto": sto,
            "scl_slope": _finite32(h["scl_slope"]) if is_nifti else F32(0.0),
            "scl_inter": _finite32(h["scl_inter"]) if is_nifti else F32(0.0),
            "intent_code": int(h["intent_code"]) if is_nifti else 0,
            "intent_p": [_finite32(h[k]) if is_nifti else F32(0.0)
                         for k in ("intent_p1", "intent_p2", "intent_p3")],
            "datatype": int(h["datatype"]), "units": units,
            "toffset": _finite32(h["toffset"]) if is_nifti else F32(0.0),
            "dim_info": int(h["dim_info"]) if is_nifti else 0,
            "slice": [int(h["slice_start"]), int(h["slice_end"]), int(h["slice_code"])]
            if is_nifti else [0, 0, 0],
            "slice_duration": _finite32(h["slice_duration"]) if is_nifti else F32(0.0),
            "cal": [_finite32(h["cal_max"]), _finite32(h["cal_min"])],
            "vox_offset": max(int(vox_offset), 348) if magic != b"ni1" else int(vox_offset),
            **text}


# --------------------------------------------------------------------------- sform or qform
def _is_identity(m: np.ndarray, tol: float) -> bool:
    return bool(np.all(np.abs(m.astype(float) - np.eye(3)) <= tol))


def _sform_without_skew(sto: np.ndarray) -> bool:
    """ITK's ``sform_decomposable_without_skew``: an invertible affine whose 3x3, columns
    normalised, is orthonormal within 1e-4."""
    bottom = abs(float(sto[3, 3]) - 1.0) + float(np.abs(sto[3, :3].astype(float)).sum())
    if bottom > np.finfo(np.float32).eps:
        return False
    w = np.linalg.svd(sto.astype(float), compute_uv=False)
    if not w[-1] / w[0] > np.finfo(float).eps:
        return False
    rot = sto[:3, :3].copy()
    for j in range(3):
        norm = F32(math.sqrt(sum(float(x) * float(x) for x in rot[:, j])))
        if norm != 0:
            rot[:, j] = rot[:, j] / norm
    return _is_identity(rot @ rot.T, 1e-4)


def _very_similar(sto: np.ndarray, qto: np.ndarray) -> bool:
    """ITK's SVD comparison of sform and qform (rotation, scales, offsets within 1e-4).

    The singular vectors' signs are aligned first: SVD libraries differ in them, and ITK's
    test is meant to compare the rotations, not those signs.
    """
    su, sw, _ = np.linalg.svd(sto[:3, :3].astype(float))
    qu, qw, _ = np.linalg.svd(qto[:3, :3].astype(float))
    qu = qu * np.where(np.sum(su * qu, axis=0) < 0, -1.0, 1.0)[None, :]
    return (bool(np.all(np.abs(sw - qw) <= 1e-4)) and _is_identity(su @ qu.T, 1e-4)
            and bool(np.all(np.abs(sto[:3, 3].astype(float) - qto[:3, 3]) <= 1e-4))
            and bool(np.all(np.abs(sto[3].astype(float) - qto[3]) <= 1e-4)))


def _permissive() -> bool:
    value = os.environ.get("ITK_NIFTI_SFORM_PERMISSIVE")
    return value is not None and value.upper() not in ("NO", "OFF", "FALSE")


def choose_matrix(nim: Mapping[str, Any], where: str) -> tuple[np.ndarray | None, bool]:
    """The 4x4 (RAS) ITK takes the geometry from, and whether the sform was corrected.

    None when both codes are 0 (origin 0, identity direction). Raises ValueError when only
    a non-orthonormal sform is there, as ITK does.
    """
    sto, qto = nim["sto"], nim["qto"]
    q_known, s_known = nim["qform_code"] != 0, nim["sform_code"] != 0
    if not q_known and not s_known:
        return None, False
    prefer_sform = bool(np.all(np.abs(sto[:3, :3] - qto[:3, :3]) <= 1e-5)
                        and float(np.abs(sto[:, 3] - qto[:, 3]).astype(float).sum()) <= 1e-7
                        and float(np.abs(sto[3] - qto[3]).astype(float).sum()) <= 1e-7)
    if not prefer_sform or s_known:
        if _sform_without_skew(sto):
            if (not q_known and s_known) or nim["sform_code"] == 1:
                prefer_sform = True
            elif q_known and s_known:
                prefer_sform = _very_similar(sto, qto)
        elif _permissive():
            u, w, vt = np.linalg.svd(sto[:3, :3].astype(float))
            if w[2] > 1e-8:
                fixed = sto.copy()
                fixed[:3, :3] = (u @ vt).astype(F32)
                return fixed, True
    if prefer_sform:
        return sto, False
    if q_known:
        return qto, False
    raise ValueError(f"{where}: the sform is not orthonormal and there is no qform; ITK "
                     "only supports orthonormal direction cosines (set "
                     "ITK_NIFTI_SFORM_PERMISSIVE=1 to use its nearest rotation)")


def geometry(nim: Mapping[str, Any], dims: int, where: str):
    """(origin, spacing, direction, sform corrected) as ITK reads them, in LPS."""
    space = SPACE_SCALE.get(nim["units"] & 0x07, 1.0)
    time = TIME_SCALE.get(nim["units"] & 0x38, 1.0)
    pixdim = nim["pixdim"]
    spacing = [float(pixdim[i + 1]) * (space if i < 3 else time) for i in range(dims)]
    origin, direction = [0.0] * dims, np.eye(dims)
    mat, corrected = choose_matrix(nim, where)
    if mat is not None:
        origin[0] = -float(mat[0, 3]) * space
        if dims > 1:
            origin[1] = -float(mat[1, 3]) * space
        if dims > 2:
            origin[2] = float(mat[2, 3]) * space
        if dims > 3:
            origin[3] = float(nim["toffset"]) * time
        top = min(dims, 3)
        for d in range(top):
            axis = [float(mat[i, d]) * (-1.0 if i < 2 else 1.0) for i in range(top)]
            total = 0.0
            for x in axis:
                total += x * x
            if total != 0.0:
                root = math.sqrt(total)
                axis = [x / root for x in axis]
            direction[:top, d] = axis
    spacing = np.array(spacing)
    flip = spacing < 0                       # ITK's reader: |spacing|, column negated
    direction[:, flip] = -direction[:, flip]
    return origin, np.abs(spacing).tolist(), direction, corrected


def metadata(nim: Mapping[str, Any], corrected: bool, nbyper: int) -> dict[str, str]:
    """SimpleITK's dictionary for a NIfTI file (floats as C++ streams them: ``%g``)."""
    g = lambda v: "%g" % float(v)   # noqa: E731
    md = {"ITK_sform_corrected": "YES" if corrected else "NO",
          "nifti_type": str(nim["nifti_type"]), "dim_info": str(nim["dim_info"]),
          "intent_code": str(nim["intent_code"]), "datatype": str(nim["datatype"]),
          "bitpix": str(8 * nbyper), "slice_start": str(nim["slice"][0]),
          "vox_offset": str(nim["vox_offset"]), "scl_slope": g(nim["scl_slope"]),
          "scl_inter": g(nim["scl_inter"]), "slice_end": str(nim["slice"][1]),
          "slice_code": str(nim["slice"][2]), "xyzt_units": str(nim["units"] & 0x3F),
          "cal_max": g(nim["cal"][0]), "cal_min": g(nim["cal"][1]),
          "slice_duration": g(nim["slice_duration"]), "toffset": g(nim["toffset"]),
          "descrip": nim["descrip"], "aux_file": nim["aux_file"],
          "qform_code": str(nim["qform_code"]),
          "qform_code_name": XFORM_NAMES.get(nim["qform_code"], "NIFTI_XFORM_UNKNOWN"),
          "sform_code": str(nim["sform_code"]),
          "sform_code_name": XFORM_NAMES.get(nim["sform_code"], "NIFTI_XFORM_UNKNOWN"),
          "intent_name": nim["intent_name"], "ITK_FileNotes": nim["descrip"]}
    for i in range(8):
        md[f"dim[{i}]"] = str(nim["dim"][i])
        md[f"pixdim[{i}]"] = "0" if i == 0 else g(nim["pixdim"][i])
    for i, p in enumerate(nim["intent_p"], 1):
        md[f"intent_p{i}"] = g(p)
    for k, name in enumerate(("quatern_b", "quatern_c", "quatern_d",
                              "qoffset_x", "qoffset_y", "qoffset_z")):
        md[name] = g(nim["quatern"][k])
    for r, name in enumerate(("srow_x", "srow_y", "srow_z")):
        md[name] = " ".join(g(x) for x in nim["sto"][r])
    return dict(sorted(md.items()))


# --------------------------------------------------------------------------- image -> header
def orientation_fields(origin, spacing, direction) -> dict[str, Any]:
    """ITK's ``SetNIfTIOrientationFromImageIO``: quatern, qoffset, srow, pixdim[0] (RAS)."""
    dims = len(spacing)
    top = min(dims, 3)
    cols = np.zeros((3, 3), dtype=F32)
    for i in range(3):
        if i < dims:
            cols[i, :top] = [-F32(direction[j, i]) for j in range(top)]
    if dims < 3:
        cols[2] = [0.0, 0.0, 1.0]
    else:
        cols[:, 2] = -cols[:, 2]             # restore +z: only x and y flip to RAS
    m = np.zeros((4, 4), dtype=F32)
    m[:3, :3] = make_orthog_mat44(cols).T
    m[0, 3] = -F32(origin[0])
    m[1, 3] = -F32(origin[1]) if dims > 1 else 0.0
    m[2, 3] = F32(origin[2]) if dims > 2 else 0.0
    m[3, 3] = 1.0
    qb, qc, qd, qfac = mat44_to_quatern(m)
    sto = m.copy()
    for i in range(top):
        for j in range(top):
            sto[i, j] = F32(sto[i, j] * F32(spacing[j]))
    return {"quatern_b": qb, "quatern_c": qc, "quatern_d": qd, "qoffset_x": m[0, 3],
            "qoffset_y": m[1, 3], "qoffset_z": m[2, 3], "qfac": qfac,
            "srow_x": sto[0], "srow_y": sto[1], "srow_z": sto[2]}
