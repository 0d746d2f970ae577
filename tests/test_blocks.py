"""Block-wise resampling: every block, reading only its input region, equals the whole
resampling bit for bit, on random geometries, every transform kind, both interpolators,
awkward block edges (size-1 blocks, blocks straddling the input's edge, all-outside
blocks), on every backend."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gpuresample as gr
from gpuresample.blocks import BlockJob, normalize_chunks, output_blocks
from gpuresample.grids import grid_of
from gpuresample.resample import _transform_chain

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


def output_around(rng, img, grow=1.6, spacing=None, direction=None):
    """A random oblique output grid covering the input and beyond (so edge blocks straddle
    the input's edge and outer ones miss it); random anisotropic ``spacing`` and random
    ``direction`` unless given."""
    dim = img.dimension
    _, _, random_spacing, random_direction = random_geometry(rng, dim)
    spacing = random_spacing if spacing is None else spacing
    direction = random_direction if direction is None else direction
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


def _counting_source(readers=None, budget_chunks=3):
    import dask.array as da

    from gpuresample.chunk_reader import BlockSource, ChunkCache

    values = np.arange(20 * 18 * 16, dtype=np.uint16).reshape(20, 18, 16)
    store = _CountingArray(values)
    cache = ChunkCache(budget_chunks * 5 * 6 * 4 * values.itemsize)
    source = BlockSource(da.from_array(store, chunks=(5, 6, 4), asarray=True), readers,
                         cache=cache)
    store.reads = 0                    # from_array's look at the store
    return values, store, cache, source


def test_blocks_read_their_regions_through_a_bounded_chunk_cache():
    """A block task assembles its input region from the source's chunks itself (not from
    chunk tasks the graph shares, which Dask would keep until their last reader ran),
    through a cache of decoded chunks that stays under its byte budget and serves a
    chunk read again."""
    values, store, cache, source = _counting_source()
    for start, stop in [((3, 2, 1), (9, 13, 7)), ((0, 0, 0), (20, 18, 16)),
                        ((19, 17, 15), (20, 18, 16))]:
        region = source.region(start, stop)
        np.testing.assert_array_equal(
            region, values[tuple(slice(a, b) for a, b in zip(start, stop))])
        assert cache.used <= cache.budget and len(cache) <= 3
    reads = store.reads
    assert cache.decoded == reads
    source.region((16, 13, 13), (19, 17, 15))   # the last chunk read: cached
    assert store.reads == reads


def test_the_chunk_cache_drops_the_chunk_whose_next_reader_is_farthest():
    """With readers known, a full cache drops a chunk no block still reads first, then
    the one whose next reader is farthest (in block numbers) from the block reading
    now, not the least recently used; a block reading again starts a new pass."""
    a, b, c, d = (0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3)
    readers = {a: (0, 9), b: (0, 1, 2), c: (1,), d: (2,)}
    values, store, cache, source = _counting_source(readers, budget_chunks=2)
    source.chunk(a, reader=0)
    source.chunk(b, reader=0)
    source.chunk(c, reader=1)          # a (next: 9) goes, not b (next: 1), though older
    assert store.reads == 3 and cache.get((source.name, a)) is None
    source.chunk(b, reader=1)          # kept
    assert store.reads == 3
    source.chunk(d, reader=2)          # c has no reader left: it goes first
    assert store.reads == 4
    source.chunk(b, reader=2)
    assert store.reads == 4
    keys = {k[1] for k in cache._entries}
    assert keys == {b, d}
    source.chunk(a, reader=0)          # block 0 again: a new pass, all readers pending
    assert source.spare(b) == 0 and source.spare(d) == 2 and source.spare(a) == 9
    copy = pickle.loads(pickle.dumps(source))   # a worker's copy: no reads seen
    assert copy.spare(a) == 0 and copy.readers == source.readers
    np.testing.assert_array_equal(source.chunk(b), values[0:5, 0:6, 4:8])


def test_region_reads_only_the_chunks_it_is_given():
    values, store, cache, source = _counting_source()
    start, stop = (3, 2, 1), (9, 13, 7)
    touched = source.chunks_of(start, stop)
    assert len(touched) == 2 * 3 * 2
    keep = touched[::3]
    region = source.region(start, stop, chunks=keep)
    want = np.zeros_like(region)
    for index in keep:
        box = tuple(slice(max(a, i * n), min(b, (i + 1) * n)) for a, b, i, n in
                    zip(start, stop, index, (5, 6, 4)))
        local = tuple(slice(s.start - a, s.stop - a) for s, a in zip(box, start))
        want[local] = values[box]
    np.testing.assert_array_equal(region, want)
    assert store.reads == len(keep)
    first, last = source.voxel_boxes([(1, 2, 3)], 3)
    np.testing.assert_array_equal(first, [[12, 12, 5]])      # x first
    np.testing.assert_array_equal(last, [[15, 17, 9]])


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", ["affine", "euler", "composite", "field", "mixed"])
@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
def test_blocks_skip_only_chunks_their_slanted_region_misses(rng, dim, kind, interpolator):
    """``BlockJob.reads`` drops chunks of a block's bounding box that its slanted region
    misses: poisoning every dropped chunk with NaN leaves each block unchanged, on two
    random geometries and one turned by 0.7 rad (the output axes for linear chains, a
    rotation applied after the deformable stage otherwise), where chunks must be dropped:
    the test is not vacuous."""
    from gpuresample.chunk_reader import BlockSource

    import dask.array as da

    n = 8                              # input chunk edge
    dropped = 0
    turn = np.eye(dim)
    turn[:2, :2] = [[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]]
    for turned in (False, False, True):
        low, high = (30, 40) if dim == 3 else (60, 80)
        geometry = random_geometry(rng, dim, size=tuple(rng.integers(low, high, dim)))
        if turned:
            geometry = (geometry[0], geometry[1], (1.0,) * dim, np.eye(dim))
        img, _ = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
        transform, direction = transform_of(kind, rng, img, dim), None
        if turned and kind in ("field", "mixed"):
            centre = img.transform_continuous_index_to_physical_point(
                [m / 2 for m in img.size])
            rotation = gr.AffineTransform(turn, np.zeros(dim), centre)
            transform = gr.CompositeTransform([rotation, gr.DisplacementFieldTransform(
                random_field(rng, dim, scale=0.5))])
            direction = np.eye(dim)
        elif turned:
            transform, direction = gr.TranslationTransform(rng.normal(size=dim)), turn
        # output voxels the size of the input's: blocks a few input chunks wide
        grid = gr.Grid(**output_around(rng, img, grow=1.2, direction=direction,
                                       spacing=(np.mean(img.spacing),) * dim))
        job = BlockJob(grid_of(img), grid, tuple(_transform_chain(transform, dim)),
                       interpolator, np.float32, np.float32, 1, 0.0, "exact")
        whole = np.asarray(img)
        source = BlockSource(da.from_array(whole, chunks=n))
        edge = max(2, int(np.mean(grid.size)) // (5 if dim == 3 else 3))
        for _, start, stop in output_blocks(grid.size, normalize_chunks(edge, grid.size, 5)):
            box = job.input_box(start, stop)
            if box is None:
                continue
            first, last = box[0][::-1], box[1][::-1]
            candidates = source.chunks_of(first, last)
            keep = job.reads(start, stop, *source.voxel_boxes(candidates, dim))
            poisoned = whole.copy()
            for index, read in zip(candidates, keep):
                if not read:
                    dropped += 1
                    poisoned[tuple(slice(n * i, n * i + n) for i in index)] = np.nan
            region = tuple(slice(a, b) for a, b in zip(first, last))
            want = job.run(start, stop, whole[region], box[0])
            got = job.run(start, stop, poisoned[region], box[0])
            np.testing.assert_array_equal(got, want)
    assert dropped > 0, "no chunk dropped: a vacuous test"


def test_a_marked_array_is_read_from_its_store_straight(tmp_path, rng):
    """An array marked with its store (what the Zarr reader does) is read chunk by chunk
    from the store itself, not through Dask: the same regions as through the chunks'
    graphs, in a worker's pickled copy too; a mark that does not fit (shape, dtype) is
    ignored, and arrays derived from a marked one carry no mark."""
    import dask.array as da

    from gpuresample.chunk_reader import BlockSource, ChunkCache, mark_stored

    values = np.arange(20 * 18 * 16, dtype=np.uint16).reshape(20, 18, 16)
    store = _CountingArray(values)
    marked = mark_stored(da.from_array(values, chunks=(5, 6, 4)), store)
    source = BlockSource(marked, cache=ChunkCache(1 << 20))
    assert source.stored is store and source.graphs is None
    plain = BlockSource(da.from_array(values, chunks=(5, 6, 4)), cache=ChunkCache(1 << 20))
    for start, stop in [((3, 2, 1), (9, 13, 7)), ((0, 0, 0), (20, 18, 16))]:
        want = values[tuple(slice(a, b) for a, b in zip(start, stop))]
        np.testing.assert_array_equal(source.region(start, stop), want)
        np.testing.assert_array_equal(plain.region(start, stop), want)
    assert store.reads == 4 * 3 * 4                   # each chunk once, then cached
    copy = pickle.loads(pickle.dumps(source))
    copy.cache = ChunkCache(1 << 20)
    np.testing.assert_array_equal(copy.chunk((3, 2, 3)), values[15:20, 12:18, 12:16])
    for wrong in (values[:19], values.astype(np.int32)):
        assert BlockSource(mark_stored(da.from_array(values, chunks=5), wrong)).stored is None
    assert BlockSource(marked + 1).stored is None
    zarr = pytest.importorskip("zarr")
    path = str(tmp_path / "m.ome.zarr")
    img = gr.image_from_array(values, spacing=(0.5, 1.0, 2.0))
    gr.write_image(img, path, chunks=(5, 6, 4))
    lazy = gr.read_image(path)
    assert isinstance(BlockSource(lazy.data).stored, zarr.Array)
    transform = gr.Euler3DTransform((4.0, 9.0, 19.0), (0.3, -0.2, 0.1))
    np.testing.assert_array_equal(
        *_arrays(gr.resample(lazy, transform, device="cpu", chunks=7).compute(),
                 gr.resample(img, transform, device="cpu")))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("vector", [False, True])
def test_lazy_inputs_in_small_chunks_equal_the_whole(rng, dim, vector):
    """A rotated lazy input in small chunks (most of a block's bounding box outside its
    slanted region; a vector image's components in chunks of their own), resampled
    block by block: the same image as in memory."""
    import dask.array as da

    geometry = random_geometry(rng, dim, size=tuple(rng.integers(20, 30, dim)))
    shape = geometry[0][::-1] + ((2,) if vector else ())
    img, _ = make_pair(random_values(rng, shape, np.int16), geometry, is_vector=vector)
    transform = transform_of("euler", rng, img, dim)
    grid = output_around(rng, img, grow=1.1)
    values = gr.array_from_image(img)
    lazy_in = gr.image_from_array(da.from_array(values, chunks=(4,) * dim + (1,) * vector),
                                  is_vector=vector, origin=img.origin, spacing=img.spacing,
                                  direction=img.direction)
    for interpolator in ("linear", "nearest"):
        whole = gr.resample(img, transform, interpolator, -5.0, device="cpu", **grid)
        lazy = gr.resample(lazy_in, transform, interpolator, -5.0, device="cpu",
                           chunks=awkward_chunks(rng, grid["size"]), **grid)
        np.testing.assert_array_equal(*_arrays(lazy.compute(), whole))


def test_the_chunk_cache_budget_comes_from_the_environment(monkeypatch):
    from gpuresample.chunk_reader import _budget_from_environment

    monkeypatch.delenv("GPURESAMPLE_CHUNK_CACHE_MIB", raising=False)
    assert _budget_from_environment() == 256 * 2**20
    monkeypatch.setenv("GPURESAMPLE_CHUNK_CACHE_MIB", "384")
    assert _budget_from_environment() == 384 * 2**20
    monkeypatch.setenv("GPURESAMPLE_CHUNK_CACHE_MIB", "0")
    assert _budget_from_environment() == 0
    for bad in ("many", "-1", "nan", "inf", ""):
        monkeypatch.setenv("GPURESAMPLE_CHUNK_CACHE_MIB", bad)
        with pytest.raises(ValueError, match="GPURESAMPLE_CHUNK_CACHE_MIB"):
            _budget_from_environment()


def test_a_deformable_job_makes_its_stage_records_once(rng):
    """Every block's plan shares the job's stage records (a field is not copied per
    block), they are not pickled with the job, and the plans equal freshly made ones."""
    from gpuresample.plan import make_plan

    geometry = random_geometry(rng, 3, size=(9, 8, 7))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    field = gr.DisplacementFieldTransform(random_field(rng, 3))
    grid = gr.Grid(**output_around(rng, img))
    job = BlockJob(grid_of(img), grid, (field,), "linear", np.float32, np.float32, 1,
                   0.0, "exact")
    a, b = job.plan((0, 0, 0), (2, 2, 2)), job.plan((2, 2, 2), (4, 4, 4))
    assert a.stage_data is b.stage_data
    fresh = make_plan(grid_of(img), grid, [field], "linear", np.float32, np.float32, 1,
                      0.0, "exact", block=((2, 2, 2), (4, 4, 4)))
    for name in ("stage_i", "stage_f", "stage_data"):
        np.testing.assert_array_equal(getattr(b, name), getattr(fresh, name))
    copy = pickle.loads(pickle.dumps(job))
    assert "_stage_records" not in copy.__dict__
    np.testing.assert_array_equal(copy.plan((2, 2, 2), (4, 4, 4)).stage_data, b.stage_data)
    linear = BlockJob(grid_of(img), grid, (), "linear", np.float32, np.float32, 1, 0.0,
                      "exact")
    assert linear._stages() is None


@pytest.mark.parametrize("module", ["gpuresample.blocks", "gpuresample.chunk_reader",
                                    "gpuresample.io.omezarr"])
def test_module_examples(module):
    import doctest
    import importlib

    pytest.importorskip("zarr")
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
