"""The ``gpuresample`` command (also ``python -m gpuresample``).

Subcommands: ``resample`` (files, DICOM folders or many files at once, through transform
files), ``info`` (geometry and pixel type of an image or the series of a DICOM folder),
``demo`` (a built-in phantom resampled on the best device, throughput printed) and
``bench`` (the benchmark comparison, see benchmarks/README.md).

Exit codes: 0 all done, 1 some inputs failed (each named, the others still processed),
2 usage error.

Example
-------
>>> from click.testing import CliRunner
>>> CliRunner().invoke(main, ["--help"]).exit_code
0
"""

from __future__ import annotations

import atexit
import concurrent.futures
import glob
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import click

from .prefetch import ReadAhead

__all__ = ["main", "run_command", "demo", "ResampleJob"]

# ----------------------------------------------------------------------------- helpers

def _floats(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated numbers, got {text!r}")


def _ints(text: str | None, what: str) -> tuple[int, ...] | None:
    values = _floats(text, what)
    if values is None:
        return None
    if any(v != int(v) or v < 1 for v in values):
        raise click.BadParameter(f"{what} must be positive integers, got {text!r}")
    return tuple(int(v) for v in values)


def _transform_spec(text: str) -> tuple[str, bool]:
    """``FILE`` or antsApplyTransforms' ``[FILE,1]`` (use the inverse)."""
    if text.startswith("[") and text.endswith("]"):
        path, _, flag = text[1:-1].rpartition(",")
        if flag.strip() not in ("0", "1") or not path:
            raise click.BadParameter(f"expected [FILE,0] or [FILE,1], got {text!r}")
        return path, flag.strip() == "1"
    return text, False


def read_input(path: str, series: str | None = None):
    """An image from a file, or from the DICOM series in a folder."""
    import gpuresample as gr

    if _is_zarr(path):
        return gr.read_image(path)        # lazy: resampled and written block by block
    if os.path.isdir(path):
        ids = gr.dicom_series_ids(path)
        if series is None and len(ids) > 1:
            raise ValueError(f"{path} holds {len(ids)} DICOM series ({', '.join(ids)}); "
                             "choose one with --series")
        return gr.read_image(gr.dicom_series_files(path, series))
    return gr.read_image(path)


def _is_zarr(path: str) -> bool:
    return os.path.normpath(path).lower().endswith(".zarr")


def _elastix_grid(specs: Sequence[str], interpolator: str):
    """transformix's output grid (the fixed image's, from the parameter file) when the one
    transform given is an elastix parameter file and no output grid was asked for; says so
    when transformix would have interpolated with a B-spline instead."""
    from gpuresample.transform_files import elastix

    if len(specs) != 1:
        return None
    path, _ = _transform_spec(specs[0])
    if not (os.path.isfile(path) and elastix.is_parameter_file(path)):
        return None
    _, grid, settings = elastix.read_with_grid(path)
    if settings.get("interpolator") == "bspline":
        click.echo(f"gpuresample: note: transformix would interpolate with a B-spline of "
                   f"order {settings.get('bspline_order', 3)}; using {interpolator}", err=True)
    return grid


def load_transform(specs: Sequence[str]):
    """One composite of the transform files, in antsApplyTransforms' order (the last given
    is applied first to each output point); None for no transform."""
    import gpuresample as gr

    if not specs:
        return None
    from gpuresample.transform_files import read_transform

    members = []
    for spec in specs:
        path, invert = _transform_spec(spec)
        transform = read_transform(path)
        members.append(transform.inverse() if invert else transform)
    return members[0] if len(members) == 1 else gr.CompositeTransform(members)


@dataclass
class ResampleJob:
    """What ``resample`` does to every input: the grid, the transform, the settings."""

    transform: Any
    reference: Any
    grid: dict
    interpolator: str
    default_value: float
    pixel_type: Any
    device: str | None
    precision: str
    chunks: int | None = None

    def run(self, image):
        import gpuresample as gr

        return gr.resample(image, self.transform, self.interpolator, self.default_value,
                           self.pixel_type, reference=self.reference, device=self.device,
                           precision=self.precision, chunks=self.chunks, **self.grid)


def _outputs(inputs: Sequence[str], output: str, fmt: str | None) -> list[str]:
    """Output paths: OUTPUT itself for one input when it is not a folder; else one file per
    input inside the folder OUTPUT, named as the input (with the extension of --format,
    NIfTI for a DICOM folder input)."""
    from gpuresample.io.formats import FORMATS, format_by_name

    if len(inputs) == 1 and (not os.path.isdir(output) or _is_zarr(output)):
        return [output]
    if not os.path.isdir(output):
        raise click.UsageError(f"with several inputs, OUTPUT must be an existing folder; "
                               f"{output} is not one")
    extensions = sorted((e for f in FORMATS for e in f.extensions), key=len, reverse=True)
    names = []
    for path in inputs:
        name = os.path.basename(os.path.normpath(path))
        if fmt is not None or os.path.isdir(path):
            known = next((e for e in extensions if name.lower().endswith(e)), "")
            name = name[:len(name) - len(known)] + format_by_name(fmt or "nifti").extensions[0]
        names.append(os.path.join(output, name))
    return names


def _expand(inputs: Sequence[str]) -> list[str]:
    """Inputs with quoted globs expanded (the shell expands unquoted ones)."""
    out: list[str] = []
    for item in inputs:
        matches = sorted(glob.glob(item)) if any(c in item for c in "*?[") else []
        out.extend(matches or [item])
    return out


# ----------------------------------------------------------------------------- commands

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gpuresample")
def main() -> None:
    """Resample 2-D and 3-D images in physical space, as SimpleITK does, on the GPU or CPU."""


@main.command(epilog="""\b
Examples:
  gpuresample resample ct_folder ct.nii.gz
  gpuresample resample moving.nii.gz out.nii.gz --reference fixed.nii.gz -t affine.tfm
  gpuresample resample "scans/*.nii.gz" resampled/ --spacing 1,1,1 -j 4
  gpuresample resample mr.mha out.mha -r ct.mha -t warp.nii.gz -t [affine.mat,1]
  gpuresample resample big.ome.zarr out.ome.zarr --spacing 1,1,1 -t rigid.tfm --compress""")
@click.argument("paths", nargs=-1, required=True, metavar="INPUT... OUTPUT")
@click.option("-r", "--reference", type=click.Path(exists=True),
              help="Output grid from this image (file or DICOM folder).")
@click.option("--spacing", help="Output spacing, e.g. 1,1,1 (keeps the extent if no --size).")
@click.option("--size", "size_text", help="Output size in voxels, e.g. 256,256,128.")
@click.option("--origin", help="Output origin (mm).")
@click.option("--direction", help="Output direction, row-major, e.g. 1,0,0,0,1,0,0,0,1.")
@click.option("-t", "--transform", "transforms", multiple=True, metavar="FILE|[FILE,1]",
              help="Transform file (.tfm .txt .h5 .mat, elastix parameter files, "
                   "displacement-field images). Repeatable: the list is one composite "
                   "and the LAST one given is applied FIRST to each output point "
                   "(antsApplyTransforms' and ITK's order). [FILE,1] uses the inverse.")
@click.option("-i", "--interpolator",
              type=click.Choice(["linear", "nearest", "label_linear"]),
              default="linear", show_default=True,
              help="label_linear: for label maps, SimpleITK's sitkLabelLinear.")
@click.option("--default-value", type=float, default=0.0, show_default=True,
              help="Value of output voxels outside the input.")
@click.option("--pixel-type", help="Output pixel type (e.g. float32, uint8); default: "
                                   "the input's.")
@click.option("--device", help="cpu, cuda or cuda-host; default: the best available.")
@click.option("--precision", type=click.Choice(["exact", "fast"]), default="exact",
              show_default=True)
@click.option("--series", help="DICOM series UID, for a folder holding several.")
@click.option("--format", "fmt", help="Output format for a folder OUTPUT (e.g. nifti, mha).")
@click.option("--compress/--no-compress", default=False, help="Compress where the format can.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Threads reading and writing files while others are resampled.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist.")
@click.option("--chunks", type=click.IntRange(1), default=None,
              help="Resample block by block, blocks of this edge in voxels (memory "
                   "bounded; OME-Zarr inputs always are, by default 128).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (also when not a terminal).")
def resample(paths, reference, spacing, size_text, origin, direction, transforms,
             interpolator, default_value, pixel_type, device, precision, series, fmt,
             compress, jobs, overwrite, chunks, quiet) -> None:
    """Resample INPUT (a file, a DICOM folder, several files or a quoted glob) into OUTPUT
    (a file; a folder for several inputs, each output named as its input).

    The output grid is the reference's, or the input's with --spacing/--size/--origin/
    --direction replacing fields (--spacing alone keeps the physical extent).
    Transforms map output points to input points, as registration results do.
    """
    if len(paths) < 2:
        raise click.UsageError("give INPUT... and OUTPUT")
    inputs, output = _expand(paths[:-1]), paths[-1]
    outputs = _outputs(inputs, output, fmt)
    grid_given = any(v is not None for v in (reference, spacing, size_text, origin, direction))
    try:
        if not grid_given:
            reference = _elastix_grid(transforms, interpolator)
        elif reference is not None:
            reference = read_input(reference)
        job = ResampleJob(
            transform=load_transform(transforms),
            reference=reference,
            grid={k: v for k, v in (("spacing", _floats(spacing, "--spacing")),
                                    ("size", _ints(size_text, "--size")),
                                    ("origin", _floats(origin, "--origin")),
                                    ("direction", _floats(direction, "--direction")))
                  if v is not None},
            interpolator=interpolator, default_value=default_value,
            pixel_type=pixel_type, device=device, precision=precision, chunks=chunks)
    except (OSError, ValueError, ImportError) as exc:
        _fail(str(exc))
    failures = _run_all(job, inputs, outputs, series, compress, overwrite, jobs,
                        show=not quiet and sys.stderr.isatty())
    if failures:
        for path, message in failures:
            click.echo(f"gpuresample: {path}: {message}", err=True)
        click.echo(f"gpuresample: {len(failures)} of {len(inputs)} inputs failed", err=True)
        sys.exit(1)


def _run_all(job: ResampleJob, inputs: Sequence[str], outputs: Sequence[str],
             series: str | None, compress: bool, overwrite: bool, jobs: int,
             show: bool) -> list[tuple[str, str]]:
    """Read, resample and write every input: reads and writes run on ``jobs`` threads
    while the main thread resamples. Returns (input, error) for each failure."""
    import gpuresample as gr
    from tqdm import tqdm

    failures: list[tuple[str, str]] = []
    todo = []
    for src, dst in zip(inputs, outputs):
        if os.path.exists(dst) and not overwrite:
            failures.append((src, f"{dst} exists (use --overwrite to replace it)"))
        else:
            todo.append((src, dst))
    voxels = 0
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(todo), unit="file", disable=not show, file=sys.stderr) as bar:
        # reads run ahead while what they hold fits the budget (so the pool reads on while
        # this thread loads its first kernel), and writes interleave with them
        reads = ReadAhead(pool, todo, lambda pair: read_input(pair[0], series), jobs,
                          _READ_AHEAD_BYTES, _held_bytes)
        _prepare_backend(job.device)
        writes = []
        for (src, dst), future in reads:
            try:
                result = job.run(future.result())
            except Exception as exc:   # any failure of one input: report, go on
                failures.append((src, f"{type(exc).__name__}: {exc}"))
                bar.update(1)
                continue
            voxels += math.prod(result.size)
            # a lazy result computes while it is written: Dask's bar shows its blocks
            extra = {"progress": show} if result.is_lazy else {}
            writes.append((src, pool.submit(gr.write_image, result, dst, compress=compress,
                                            **extra)))
            bar.update(1)
            bar.set_postfix_str(f"{voxels / (time.perf_counter() - started) / 1e6:.1f} Mvox/s")
        for src, future in writes:
            try:
                future.result()
            except Exception as exc:
                failures.append((src, f"{type(exc).__name__}: {exc}"))
    return failures


def _prepare_backend(device: str | None) -> None:
    """Load the backend the job will run on while the first files are read. For ``cpu``,
    also numba's compiler context, without its BLAS check: numba imports scipy.linalg then
    to see whether np.dot can call BLAS (0.3 s of the command's start-up); the kernels call
    no BLAS, so this process (the command's own) hides scipy.linalg from that one import."""
    from gpuresample.backends import get_backend, resolve_device

    try:
        name = resolve_device(device, data_on_gpu=False)
        get_backend(name)
    except (ValueError, RuntimeError):   # each file reports it
        return
    if name != "cpu" or "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    hidden = ("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack")
    with global_compiler_lock:
        sys.modules.update(dict.fromkeys(hidden))   # None: "import" raises ImportError
        try:
            cpu_target.target_context.refresh()
        finally:
            for module in hidden:
                sys.modules.pop(module, None)


_READ_AHEAD_BYTES = 512 * 2**20   # decoded inputs waiting to be resampled, at most


def _held_bytes(image) -> int:
    """Bytes of pixels an image holds in memory (none for a lazy one)."""
    return 0 if image.is_lazy else math.prod(image.size) * image.number_of_components \
        * image.pixel_type.dtype.itemsize


def run_command(argv: Sequence[str] | None = None) -> None:
    """The installed ``gpuresample`` command (and ``python -m gpuresample``): :func:`main`,
    then the process ends at once with its exit code.

    Python's own shutdown (tearing down every module and the objects numba and LLVM made)
    takes about 0.3 s, a tenth of resampling a folder of 50 scans. When the command is done
    every file is written and closed and every thread joined, so after running the atexit
    handlers and flushing the standard streams the process exits without that teardown.
    Exceptions other than exit (a bug's traceback, Ctrl-C) end it the usual way.
    """
    code: Any = 0
    try:
        main(argv)   # click's standalone mode: ends in SystemExit
    except SystemExit as done:
        code = done.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    atexit._run_exitfuncs()   # (what the interpreter's exit would run first)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail(message: str) -> None:
    click.echo(f"gpuresample: error: {message}", err=True)
    sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def info(path: str, as_json: bool) -> None:
    """Size, spacing, origin, direction and pixel type of an image file; for a DICOM folder
    its series (UID, description, number of slices) and the first series' geometry."""
    import gpuresample as gr

    report: dict[str, Any] = {"path": path}
    try:
        if os.path.isdir(path):
            report["series"] = [_series_entry(path, uid) for uid in gr.dicom_series_ids(path)]
            image = gr.read_image(gr.dicom_series_files(path))
        else:
            image = gr.read_image(path)
    except (OSError, ValueError, ImportError) as exc:
        _fail(str(exc))
    report.update(size=list(image.size), spacing=list(image.spacing),
                  origin=list(image.origin),
                  direction=(image.direction.ravel() + 0.0).tolist(),   # no "-0.0"
                  pixel_type=image.pixel_type.name,
                  pixel_type_description=image.pixel_type.description,
                  components=image.number_of_components)
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    for entry in report.get("series", []):
        click.echo(f"series {entry['uid']}: {entry['slices']} slices, "
                   f"{entry['description'] or '(no description)'}")
    for key in ("size", "spacing", "origin", "direction", "pixel_type_description",
                "components"):
        click.echo(f"{key.replace('_description', ''):<10} {report[key]}")


def _series_entry(folder: str, uid: str) -> dict:
    import gpuresample as gr
    from gpuresample.io.dicom import slice_metadata

    files = gr.dicom_series_files(folder, uid)
    first = slice_metadata(files[:1])[0]
    return {"uid": uid, "slices": len(files),
            "description": first.get("0008|103e", "").strip()}


def demo(size: int = 256, device: str | None = None, interpolator: str = "linear",
         precision: str = "exact", repeat: int = 5, out=None) -> float:
    """Rotate a ``size``^3 float32 phantom with an Euler3D transform; return voxels/s."""
    import numpy as np

    import gpuresample as gr
    from gpuresample.backends import resolve_device
    from gpuresample.phantom import phantom

    out = out or sys.stdout
    img = phantom((size, size, size))
    centre = img.transform_continuous_index_to_physical_point([(size - 1) / 2.0] * 3)
    transform = gr.Euler3DTransform(centre, np.radians([10.0, 5.0, 20.0]), (2.0, -1.0, 0.5))
    chosen = resolve_device(device, data_on_gpu=False)
    print(f"gpuresample {gr.__version__} demo: {size}^3 float32 phantom, Euler3D rotation, "
          f"{interpolator}, precision {precision}", file=out)
    for name, state in gr.backends().items():
        print(f"  backend {name:9s} {state}", file=out)
    print(f"device: {chosen}", file=out)
    source = img.to("cuda") if chosen == "cuda" else img
    sync = _synchronizer(chosen)
    t0 = time.perf_counter()
    result = gr.resample(source, transform, interpolator, device=chosen, precision=precision)
    sync()
    first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = gr.resample(source, transform, interpolator, device=chosen,
                             precision=precision)
        sync()
        times.append(time.perf_counter() - t0)
    best = statistics.median(times)
    rate = size ** 3 / best
    print(f"first call (compiles or loads cached kernels): {first:.3f} s", file=out)
    print(f"steady state: {best * 1e3:.1f} ms per volume (median of {len(times)}) = "
          f"{rate / 1e6:.1f} Mvox/s", file=out)
    print(f"output: size {result.size}, {result.pixel_type.description}, on {result.device}",
          file=out)
    return rate


def _synchronizer(device: str):
    if device != "cuda":
        return lambda: None
    import cupy
    return lambda: cupy.cuda.get_current_stream().synchronize()


@main.command("demo")
@click.option("--size", type=click.IntRange(2, 2048), default=256, show_default=True,
              help="Edge of the cube.")
@click.option("--device", help="cpu, cuda or cuda-host (default: the best available).")
@click.option("-i", "--interpolator", type=click.Choice(["linear", "nearest"]),
              default="linear", show_default=True)
@click.option("--precision", type=click.Choice(["exact", "fast"]), default="exact",
              show_default=True)
@click.option("--repeat", type=click.IntRange(1, 100), default=5, show_default=True)
def demo_command(size, device, interpolator, precision, repeat) -> None:
    """Resample a built-in phantom on the best device and print the throughput."""
    try:
        demo(size, device, interpolator, precision, repeat)
    except (ValueError, RuntimeError) as exc:
        _fail(str(exc))


@main.command("bench", context_settings={"ignore_unknown_options": True,
                                         "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_command(args) -> None:
    """The benchmark comparison (gpuresample bench --help for its options)."""
    from gpuresample.bench import main as bench_main
    sys.exit(bench_main(list(args)))


if __name__ == "__main__":
    main()
