"""Block-wise resampling: every block, reading only its input region, equals the whole
resampling bit for bit, on random geometries, every transform kind, both interpolators,
awkward block edges (size-1 blocks, blocks straddling the input's edge, all-outside
blocks), on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import gpuresample as gr
from gpuresample.blocks import BlockJob, normalize_chunks, output_blocks
from gpuresample.grids import grid_of

from helpers import make_pair, random_affine_transform, random_geometry, random_values
from test_resample_deformable import random_bspline, random_field

pytest.importorskip("dask.array", reason="the dask extra is not installed")


def awkward_chunks(rng, size):
    """Block lengths per axis (x first): mostly tiny, size-1 blocks included."""
    chunks = []
    for n in size:
        lengths = []
        while sum(lengths) < n:
            lengths.append(int(min(rng.choice([1, 1, 2, 3, 5, 8]), n - sum(lengths))))
        chunks.append(tuple(lengths))
    return chunks


def transform_of(kind, rng, img, dim):
    affine = random_affine_transform(rng, dim)[0]
    if kind == "affine":
        return affine
    if kind == "euler":
        centre = img.transform_continuous_index_to_physical_point(
            [n / 2 for n in img.size])
        return (gr.Euler3DTransform(centre, rng.uniform(-0.6, 0.6, 3)) if dim == 3 else
                gr.Euler2DTransform(centre, float(rng.uniform(-0.6, 0.6))))
    if kind == "composite":
        shift = gr.TranslationTransform(rng.normal(size=dim))
        return gr.CompositeTransform([affine, shift, gr.ScaleTransform(
            rng.uniform(0.8, 1.2, dim), rng.normal(size=dim))])
    if kind == "bspline":
        return random_bspline(rng, img)
    if kind == "field":
        return gr.DisplacementFieldTransform(random_field(rng, dim))
    if kind == "mixed":
        return gr.CompositeTransform([affine, random_bspline(rng, img),
                                      gr.DisplacementFieldTransform(random_field(rng, dim))])
    raise AssertionError(kind)


def output_around(rng, img, grow=1.6):
    """A random oblique output grid covering the input and beyond (so edge blocks straddle
    the input's edge and outer ones miss it)."""
    dim = img.dimension
    _, _, spacing, direction = random_geometry(rng, dim)
    extent = np.asarray(img.size) * np.asarray(img.spacing) * grow
    size = tuple(int(max(2, round(e / s))) for e, s in zip(extent, spacing))
    centre = np.asarray(img.transform_continuous_index_to_physical_point(
        [(n - 1) / 2 for n in img.size]))
    half = np.asarray(direction) @ (np.asarray(spacing) * (np.asarray(size) - 1) / 2)
    return dict(size=size, origin=tuple(centre - half), spacing=spacing, direction=direction)


def _arrays(*images):
    return [gr.array_from_image(i.to("cpu")) for i in images]


KINDS = ["affine", "euler", "composite", "bspline", "field", "mixed"]


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
def test_blocks_equal_the_whole(backend, rng, dim, kind, interpolator):
    geometry = random_geometry(rng, dim, size=tuple(rng.integers(9, 16, dim)))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    transform = transform_of(kind, rng, img, dim)
    grid = output_around(rng, img)
    whole = gr.resample(img, transform, interpolator, -5.0, gr.PixelType.FLOAT32,
                        device=backend, **grid)
    chunks = awkward_chunks(rng, grid["size"])
    lazy = gr.resample(img, transform, interpolator, -5.0, gr.PixelType.FLOAT32,
                       device=backend, chunks=chunks, **grid)
    assert lazy.is_lazy and lazy.size == whole.size and lazy.origin == whole.origin
    assert lazy.data.chunks == tuple(chunks[::-1])
    got, want = _arrays(lazy.compute(scheduler="synchronous"), whole)
    assert np.any(want != -5.0), "the output grid misses the input: a vacuous test"
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["euler", "bspline", "field"])
def test_blocks_read_regions_only_and_outer_blocks_nothing(rng, kind):
    """The regions are real crops, outer blocks read no input, every read lies inside the
    input: what makes the identity above a test of the cropping."""
    geometry = random_geometry(rng, 3, size=(15, 13, 11))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    transform = transform_of(kind, rng, img, 3)
    grid = gr.Grid(**output_around(rng, img, grow=2.5))
    job = BlockJob(grid_of(img), grid, (transform,),
                   "linear", np.float32, np.float32, 1, 0.0, "exact")
    regions = []
    for _, a, b in output_blocks(grid.size, normalize_chunks(3, grid.size, 3)):
        exact, cheap = job.region(job.plan(a, b)), job.input_box(a, b)
        # the graph is built with the cheap bound; it must hold what the task reads
        assert exact is None or (cheap is not None and all(
            c0 <= e0 and e1 <= c1 for c0, e0, e1, c1 in zip(cheap[0], exact[0], exact[1],
                                                           cheap[1])))
        regions.append(exact)
    crops = [r for r in regions if r is not None]
    assert any(r is None for r in regions)
    assert any(np.prod(np.subtract(b, a)) < np.prod(img.size) for a, b in crops)
    for a, b in crops:
        assert all(0 <= lo < hi <= n for lo, hi, n in zip(a, b, img.size))



def test_a_block_runs_on_any_region_that_holds_its_reads_and_refuses_less(rng):
    """A task runs on the whole region it is given (no copy of the exact crop): a region
    larger than the block's reads gives the same voxels, a smaller one a clear error."""
    geometry = random_geometry(rng, 3, size=(15, 13, 11))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    transform = transform_of("euler", rng, img, 3)
    grid = gr.Grid(**output_around(rng, img, grow=1.5))
    job = BlockJob(grid_of(img), grid, (transform,),
                   "linear", np.float32, np.float32, 1, 0.0, "exact")
    whole = np.asarray(img)
    start, stop = (1, 2, 1), tuple(min(n, 6) for n in grid.size)
    (a, b) = job.region(job.plan(start, stop))
    exact = whole[a[2]:b[2], a[1]:b[1], a[0]:b[0]]
    want = job.run(start, stop, exact, a)
    np.testing.assert_array_equal(job.run(start, stop, whole, (0, 0, 0)), want)
    assert np.any(want != 0.0), "the block reads nothing: a vacuous test"
    with pytest.raises(ValueError, match="does not hold"):
        job.run(start, stop, exact[1:], (a[0], a[1], a[2] + 1))

@pytest.mark.parametrize("precision", ["exact", "fast"])
def test_fast_precision_and_separable_bspline_blocks(backend, rng, precision):
    """fast precision: the blocks equal the whole too; an aligned B-spline (evaluated
    separably in fast mode) makes blocks span whole rows."""
    geometry = ((17, 12, 9), (1.0, -2.0, 0.5), (0.8, 1.1, 1.3), np.eye(3))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.uint16), geometry)
    transform = random_bspline(rng, img)
    lazy = gr.resample(img, transform, "linear", device=backend, precision=precision,
                       chunks=(4, 5, 2))
    whole = gr.resample(img, transform, "linear", device=backend, precision=precision)
    if precision == "fast":
        assert lazy.data.chunks[2] == (17,)
    np.testing.assert_array_equal(*_arrays(lazy.compute(), whole))


@pytest.mark.parametrize("pixel", ["vector", "complex"])
def test_vector_and_complex_blocks(backend, rng, pixel):
    geometry = random_geometry(rng, 3, size=(11, 9, 7))
    if pixel == "vector":
        values = random_values(rng, (*geometry[0][::-1], 3), np.float32)
    else:
        values = (random_values(rng, geometry[0][::-1], np.float32)
                  + 1j * random_values(rng, geometry[0][::-1], np.float32)).astype(np.complex64)
    img, _ = make_pair(values, geometry, is_vector=pixel == "vector")
    transform = transform_of("euler", rng, img, 3)
    grid = output_around(rng, img, grow=1.2)
    lazy = gr.resample(img, transform, device=backend, chunks=(4, 3, 2), **grid)
    whole = gr.resample(img, transform, device=backend, **grid)
    assert lazy.pixel_type == whole.pixel_type
    np.testing.assert_array_equal(*_arrays(lazy.compute(), whole))


def test_lazy_input_gives_lazy_output_with_default_blocks(rng):
    import dask.array as da

    values = random_values(rng, (40, 150, 140), np.uint8)
    lazy_in = gr.image_from_array(da.from_array(values, chunks=(16, 64, 64)),
                                  spacing=(0.5, 0.6, 0.7), origin=(1.0, 2.0, 3.0))
    assert lazy_in.is_lazy and lazy_in.size == (140, 150, 40)
    transform = gr.Euler3DTransform((30.0, 40.0, 15.0), (0.1, 0.2, 0.3))
    out = gr.resample(lazy_in, transform, device="cpu", spacing=(0.6, 0.6, 0.6))
    assert out.is_lazy
    assert out.data.chunks[1] == (128, 22)                     # the default 128^3 blocks
    whole = gr.resample(lazy_in.compute(), transform, device="cpu", spacing=(0.6, 0.6, 0.6))
    np.testing.assert_array_equal(*_arrays(out.compute(), whole))


def test_bad_chunks_and_lazy_misuse(rng):
    import dask.array as da

    img = gr.image_from_array(random_values(rng, (6, 7, 8), np.float32))
    for chunks, error, words in [(0, ValueError, "at least 1"),
                                 ((2, 2), ValueError, "3 entries"),
                                 (((4, 3), 7, 6), ValueError, "sum to the output size"),
                                 ("big", TypeError, "int or a sequence"),
                                 ((2, -1, 3), ValueError, "at least 1")]:
        with pytest.raises(error, match=words):
            gr.resample(img, device="cpu", chunks=chunks)
    lazy = gr.image_from_array(da.zeros((6, 7, 8), dtype=np.float32, chunks=3))
    with pytest.raises(ValueError, match="in-memory images only"):
        gr.resample_batch([lazy, lazy], [None, None], device="cpu")
    for action in (lambda: lazy + 1, lambda: -lazy, lambda: np.sqrt(lazy),
                   lambda: lazy.__setitem__((0, 0, 0), 1.0), lambda: lazy.to("cuda")):
        with pytest.raises(TypeError, match="lazy image"):
            action()
    assert lazy[1, 2, 3] == 0.0                                 # one pixel: computed
    assert gr.array_from_image(lazy).shape == (6, 7, 8)


def test_resample_does_not_modify_its_arguments(rng):
    img = gr.image_from_array(random_values(rng, (6, 7, 8), np.int16))
    before = gr.array_from_image(img)
    chunks = [(3, 5), (7,), (2, 2, 2)]
    out = gr.resample(img, gr.TranslationTransform((0.3, 0.2, 0.1)), device="cpu",
                      chunks=chunks)
    out.compute()
    assert chunks == [(3, 5), (7,), (2, 2, 2)]
    np.testing.assert_array_equal(gr.array_from_image(img), before)


def test_lazy_images_with_unusable_backends_or_dimensions(rng):
    import dask.array as da

    from gpuresample.backends import backends

    lazy = gr.image_from_array(da.zeros((6, 7, 8), dtype=np.float32, chunks=3))
    if backends()["cuda"] != "available":
        with pytest.raises(RuntimeError, match="not usable here"):
            gr.resample(lazy, device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        gr.resample(lazy, device="tpu")
    four = gr.image_from_array(da.zeros((2, 3, 4, 5), dtype=np.float32), is_vector=False)
    with pytest.raises(ValueError, match="2-D and 3-D"):
        gr.resample(four, device="cpu")


@pytest.mark.parametrize("kind", ["euler", "composite", "field"])
@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
def test_fast_precision_blocks_equal_the_whole(backend, rng, kind, interpolator):
    """float32 positions: the regions follow the kernels' float32 arithmetic too."""
    geometry = random_geometry(rng, 3, size=(13, 11, 9))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.uint8), geometry)
    transform = transform_of(kind, rng, img, 3)
    grid = output_around(rng, img)
    args = (img, transform, interpolator, 3.0)
    whole = gr.resample(*args, device=backend, precision="fast", **grid)
    lazy = gr.resample(*args, device=backend, precision="fast",
                       chunks=awkward_chunks(rng, grid["size"]), **grid)
    got, want = _arrays(lazy.compute(), whole)
    assert np.any(want != 3)
    np.testing.assert_array_equal(got, want)


def test_default_threaded_scheduler_gets_one_thread_more_than_the_cores():
    """progress.scheduler_options: an extra thread only where Dask's default threaded
    scheduler would run with its default thread count; any choice of the caller stays."""
    import os

    import dask
    import dask.array as da

    from gpuresample.progress import compute, scheduler_options

    work = [da.ones(8, chunks=4).sum()]
    assert scheduler_options(work, {}) == {"num_workers": (os.cpu_count() or 1) + 1}
    assert scheduler_options(work, {"scheduler": "synchronous"}) == {"scheduler": "synchronous"}
    assert scheduler_options(work, {"num_workers": 1}) == {"num_workers": 1}
    with dask.config.set(num_workers=3):
        assert scheduler_options(work, {}) == {}
    with dask.config.set(scheduler="processes"):
        assert scheduler_options(work, {}) == {}
    assert float(compute(work)[0]) == 8.0


class _CountingArray:
    """An array-like that counts the reads Dask makes of it (one per chunk computed)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.reads = values, 0
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim

    def __getitem__(self, index):
        self.reads += 1
        return self.values[index]


def test_blocks_read_their_regions_through_a_bounded_chunk_cache(monkeypatch):
    """A block task assembles its input region from the source's chunks itself (not from
    chunk tasks the graph shares, which Dask would keep until their last reader ran),
    through a cache of decoded chunks that stays under its byte budget and serves a
    chunk read again."""
    from collections import OrderedDict

    import dask.array as da

    from gpuresample import blocks

    values = np.arange(20 * 18 * 16, dtype=np.uint16).reshape(20, 18, 16)
    store = _CountingArray(values)
    chunk_bytes = 5 * 6 * 4 * values.itemsize
    monkeypatch.setattr(blocks._Source, "cache_bytes", 3 * chunk_bytes)
    monkeypatch.setattr(blocks, "_cache", OrderedDict())
    monkeypatch.setattr(blocks, "_cache_used", 0)
    source = blocks._Source(da.from_array(store, chunks=(5, 6, 4), asarray=True))
    for start, stop in [((3, 2, 1), (9, 13, 7)), ((0, 0, 0), (20, 18, 16)),
                        ((19, 17, 15), (20, 18, 16))]:
        region = blocks._assemble(source, start, stop)
        np.testing.assert_array_equal(
            region, values[tuple(slice(a, b) for a, b in zip(start, stop))])
        assert blocks._cache_used <= 3 * chunk_bytes and len(blocks._cache) <= 3
    reads = store.reads
    blocks._assemble(source, (16, 13, 13), (19, 17, 15))   # the last chunk read: cached
    assert store.reads == reads
