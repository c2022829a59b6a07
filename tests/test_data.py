"""The data pipeline against PyTorch 2.13 (stored fixtures: tests/fixtures/make_data_fixtures.py) and against
its own in-process loading: datasets, samplers, collation, the DataLoader's arguments and errors, and the
worker pool (same batches as in-process, worker_init_fn, persistent workers, errors, dead workers, timeouts).

Random orders cannot equal PyTorch's (its generator is not reproduced), so shuffling is checked for what it
means: permutations, reproducibility under a seed, and sampling frequencies within a chi-square bound."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from tests.fixtures import data_configs as cases

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "data.npz")
DEEP = os.environ.get("SYMNET_DEEP") == "1"


def as_array(value):
    return (value.dtype.name, value.numpy()) if isinstance(value, sn.Tensor) else None


def assert_matches_fixture(value, key: str) -> None:
    """Same containers, strings, tensor dtypes and shapes as PyTorch's, and the same values, exactly."""
    structure, arrays = cases.describe(value, as_array)
    assert structure == json.loads(str(FIXTURES[f"{key}/structure"]))
    for k, array in enumerate(arrays):
        np.testing.assert_array_equal(array, FIXTURES[f"{key}/{k}"])


def batches_equal(a, b) -> bool:
    """Two lists of batches hold the same structure and values."""
    (structure_a, arrays_a), (structure_b, arrays_b) = cases.describe(a, as_array), cases.describe(b, as_array)
    return structure_a == structure_b and all(np.array_equal(p, q) for p, q in zip(arrays_a, arrays_b, strict=True))


# ------------------------------------------------------------------------------------------- PyTorch parity
def test_fixtures_are_what_pytorch_records(tmp_path):
    """With PyTorch installed, regenerating the fixtures gives the stored file."""
    pytest.importorskip("torch")
    from tests.fixtures import make_data_fixtures
    make_data_fixtures.main(tmp_path / "data.npz")
    fresh = np.load(tmp_path / "data.npz")
    assert sorted(fresh.files) == sorted(FIXTURES.files)
    for key in FIXTURES.files:
        np.testing.assert_array_equal(fresh[key], FIXTURES[key])


@pytest.mark.parametrize("case", list(cases.collate_cases(sn.tensor)))
def test_default_collate_matches_pytorch(case):
    assert_matches_fixture(default_collate(cases.collate_cases(sn.tensor)[case]), f"collate/{case}")


@pytest.mark.parametrize("case", list(cases.collate_cases(sn.tensor)))
def test_loader_over_per_item_samples_matches_pytorch(case):
    """A plain list of samples is a map-style dataset: each batch is read item by item and collated."""
    assert_matches_fixture(list(DataLoader(cases.collate_cases(sn.tensor)[case], batch_size=3)), f"loader/{case}")


@pytest.mark.parametrize("case", list(cases.convert_cases(sn.tensor)))
def test_default_convert_matches_pytorch(case):
    assert_matches_fixture(default_convert(cases.convert_cases(sn.tensor)[case]), f"convert/{case}")


@pytest.mark.parametrize("k", range(len(cases.SPLITS)))
def test_random_split_fractions_match_pytorch(k):
    n, fractions = cases.SPLITS[k]
    parts = random_split(range(n), fractions, generator=k)
    assert [len(p) for p in parts] == FIXTURES[f"split/{k}"].tolist()
    assert sorted(i for p in parts for i in p) == list(range(n))  # a partition


@pytest.mark.parametrize("k", range(len(cases.LENGTHS)))
def test_loader_len_and_batch_sizes_match_pytorch(k):
    n, batch_size, drop_last = cases.LENGTHS[k]
    loader = DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert [len(loader), *(len(b) for b in loader)] == FIXTURES[f"lengths/{k}"].tolist()


# ------------------------------------------------------------------------------------------- datasets
class Squares(Dataset):
    """A per-item dataset: sample i is a dict of an array, a Python float and a string."""

    def __init__(self, n: int = 10) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": np.array([i, i * i], dtype=np.float32), "y": float(i) / 2, "name": f"item{i}"}


class Pairs(Dataset):
    """(x, y) rows read one at a time, as a file-backed dataset would."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def test_per_item_dataset_is_collated_by_field():
    (batch,) = DataLoader(Squares(3), batch_size=3)
    assert batch["x"].dtype == sn.float32 and batch["x"].tolist() == [[0, 0], [1, 1], [2, 4]]
    assert batch["y"].dtype == sn.float64 and batch["y"].tolist() == [0, 0.5, 1]
    assert batch["name"] == ["item0", "item1", "item2"]


@pytest.mark.parametrize("batch, error, message", [
    ([object()], TypeError, "batch must contain tensors, numpy arrays, numbers, dicts or lists; found <class 'obj"),
    ([np.array(["a"])], TypeError, "batch must contain tensors, numpy arrays, numbers, dicts or lists; found <U1"),
    ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
    ([np.zeros(2), np.zeros(3)], RuntimeError, r"stack expects each tensor to be equal size, but got \[2\] at entry 0 "
                                               r"and \[3\] at entry 1"),
    ([np.ones(2, dtype=np.float16)], sn.DTypeError, "dtype float16 is not supported"),  # symnet has no float16
])
def test_collate_errors_are_pytorchs(batch, error, message):
    with pytest.raises(error, match=message):
        default_collate(batch)


def test_collate_widens_integer_arrays_to_int64():
    """symnet's integer dtype is int64: uint8 or int32 arrays collate to int64 (PyTorch keeps their dtype)."""
    batch = default_collate([np.array([1, 255], dtype=np.uint8), np.array([3, 4], dtype=np.int32)])
    assert batch.dtype == sn.int64 and batch.tolist() == [[1, 255], [3, 4]]


def test_collated_tensors_stay_in_the_graph():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    default_collate([w * 2, w * 3]).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])
    rows = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # rows of a TensorDataset too
    ((batch,),) = DataLoader(TensorDataset(rows), batch_size=3, sampler=[1, 1, 0])
    (batch * sn.tensor([[1.0], [2.0], [5.0]])).sum().backward()
    np.testing.assert_array_equal(rows.grad.numpy(), [[5.0, 5.0], [3.0, 3.0]])


def test_tensor_dataset_takes_numpy_arrays_and_keeps_their_dtype():
    ds = TensorDataset(np.arange(6, dtype=np.float32).reshape(3, 2), np.array([1, 2, 3], dtype=np.int32),
                       sn.tensor([0.5, 1.5, 2.5], dtype=sn.float64))
    assert [t.dtype for t in ds.tensors] == [sn.float32, sn.int64, sn.float64]  # int32 → int64 (symnet's ints)
    assert [t.tolist() for t in ds[1]] == [[2.0, 3.0], 2, 1.5] and len(ds) == 3
    with pytest.raises(sn.ShapeError, match="Size mismatch between tensors"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="tensors or NumPy arrays, got list"):
        TensorDataset([1, 2, 3])


def test_tensor_dataset_batches_equal_per_item_collation():
    """The loader reads a TensorDataset's batch as one slice per tensor: the same batch as collating rows."""
    x = np.random.default_rng(0).standard_normal((11, 3))
    ds = TensorDataset(x, np.arange(11))
    sliced = list(DataLoader(ds, batch_size=4))
    per_item = list(DataLoader(ds, batch_size=4, collate_fn=lambda samples: default_collate(samples)))
    assert isinstance(sliced[0], list) and batches_equal(sliced, per_item)  # a list, as PyTorch collates tuples


def test_concat_subset_and_stack_datasets():
    a, b = TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))
    both = a + b
    assert isinstance(both, ConcatDataset) and both.cumulative_sizes == [3, 7] and len(both) == 7
    assert [both[i][0].item() for i in (0, 3, 6, -1, -7)] == [0, 10, 13, 13, 0]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        both[-8]
    with pytest.raises(IndexError):
        both[7]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([a, Stream(3)])
    sub = Subset(Squares(), [7, 2, 5])
    assert len(sub) == 3 and sub[1]["name"] == "item2" and [s["y"] for s in sub.__getitems__([0, 2])] == [3.5, 2.5]
    stacked = StackDataset(Squares(4), a + TensorDataset(np.arange(1)))
    assert stacked[3][0]["name"] == "item3" and stacked[3][1][0].item() == 0
    assert StackDataset(first=Squares(2), second=range(2))[1]["second"] == 1
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(Squares(2), range(3))
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]


def test_random_split_is_seeded_and_checks_lengths():
    first = [p.indices for p in random_split(range(20), [0.5, 0.25, 0.25], generator=7)]
    assert first == [p.indices for p in random_split(range(20), [0.5, 0.25, 0.25], generator=7)]
    assert [len(p) for p in random_split(range(20), [12, 8])] == [12, 8]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.2, -0.2])
    with pytest.warns(UserWarning) as caught:
        assert [len(p) for p in random_split(range(2), [0.9, 0.05, 0.05])] == [2, 0, 0]
    assert [str(w.message)[:26] for w in caught] == ["Length of split at index 1", "Length of split at index 2"]


# ------------------------------------------------------------------------------------------- samplers
def test_sequential_and_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    sn.manual_seed(3)
    order = list(RandomSampler(range(50)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    sn.manual_seed(3)
    assert list(RandomSampler(range(50))) == order  # symnet's generator, seeded by manual_seed
    long = list(RandomSampler(range(5), num_samples=12, generator=1))
    assert all(sorted(long[k:k + 5]) == list(range(5)) for k in (0, 5)) and len(set(long[10:])) == 2
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=300, generator=np.random.default_rng(0)))
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}
    rs = RandomSampler(range(5), generator=4)
    assert list(rs) != list(rs)  # an int seed is one stream: successive epochs differ
    subset = list(SubsetRandomSampler([10, 20, 30, 40], generator=2))
    assert sorted(subset) == [10, 20, 30, 40] and len(SubsetRandomSampler([1, 2])) == 2


@pytest.mark.parametrize("make, error, message", [
    (lambda: RandomSampler(range(3), replacement=1), TypeError, "replacement should be a boolean value"),
    (lambda: RandomSampler(range(3), num_samples=0), ValueError, "num_samples should be a positive integer"),
    (lambda: RandomSampler(range(0)), ValueError, "num_samples should be a positive integer value, but got num_samp"),
    (lambda: RandomSampler(range(3), generator="x"), TypeError, "generator must be a numpy.random.Generator"),
    (lambda: WeightedRandomSampler([1.0], 0), ValueError, "num_samples should be a positive integer"),
    (lambda: WeightedRandomSampler([1.0], 1, replacement=0), ValueError, "replacement should be a boolean"),
    (lambda: WeightedRandomSampler([[1.0]], 1), ValueError, r"weights should be a 1d sequence .* shape \(1, 1\)"),
    (lambda: list(WeightedRandomSampler([-1.0, 1.0], 2)), RuntimeError, "encountering probability entry < 0"),
    (lambda: list(WeightedRandomSampler([0.0, 0.0], 2)), RuntimeError, r"sum of probabilities <= 0"),
    (lambda: list(WeightedRandomSampler([1.0, 1.0], 3, replacement=False)), RuntimeError, "cannot sample n_sample"),
    (lambda: BatchSampler(range(3), 0, False), ValueError, "batch_size should be a positive integer value"),
    (lambda: BatchSampler(range(3), True, False), ValueError, "batch_size should be a positive integer value"),
    (lambda: BatchSampler(range(3), 2, 1), ValueError, "drop_last should be a boolean value"),
])
def test_sampler_errors_are_pytorchs(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_weighted_random_sampler_frequencies_pass_chi_square():
    weights = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    draws = 40000 if DEEP else 8000
    counts = np.bincount(list(WeightedRandomSampler(weights, draws, generator=11)), minlength=5)
    assert counts[4] == 0  # a zero weight is never drawn
    expected = draws * weights[:4] / weights.sum()
    assert ((counts[:4] - expected) ** 2 / expected).sum() < 16.27  # chi-square, 3 dof, p = 0.001
    # without replacement: distinct indices, zero weights last; the first draw follows the weights
    rng = np.random.default_rng(5)
    assert sorted(WeightedRandomSampler(weights, 5, replacement=False, generator=rng)) == [0, 1, 2, 3, 4]
    assert list(WeightedRandomSampler(weights, 5, replacement=False, generator=rng))[-1] == 4
    firsts = np.bincount([next(iter(WeightedRandomSampler(weights, 2, replacement=False, generator=rng)))
                          for _ in range(draws // 4)], minlength=5)
    expected = (draws // 4) * weights[:4] / weights.sum()
    assert firsts[4] == 0 and ((firsts[:4] - expected) ** 2 / expected).sum() < 16.27


def test_batch_sampler_groups_and_drops_the_short_last_batch():
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    loader = DataLoader(Squares(), batch_sampler=[[9, 0], [4]])
    assert [b["name"] for b in loader] == [["item9", "item0"], ["item4"]]
    assert loader.batch_size is None and not loader.fast_path() and loader.order().tolist() == [9, 0, 4]


# ------------------------------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_workers": -1}, ValueError, "num_workers option should be non-negative"),
    ({"timeout": -1}, ValueError, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, ValueError, "prefetch_factor option could only be specified in multiprocessing"),
    ({"num_workers": 1, "prefetch_factor": -1}, ValueError, "prefetch_factor option should be non-negative"),
    ({"persistent_workers": True}, ValueError, "persistent_workers option needs num_workers > 0"),
    ({"multiprocessing_context": "fork"}, ValueError, "multiprocessing_context can only be used with multi-process"),
    ({"num_workers": 1, "multiprocessing_context": "bogus"}, ValueError, "should specify a valid start method"),
    ({"num_workers": 1, "multiprocessing_context": 3}, TypeError, "should be a valid context object"),
    ({"shuffle": True, "sampler": [0]}, ValueError, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "shuffle": True}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "sampler": [0]}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, ValueError, "batch_size=None option disables auto-batching"),
    ({"batch_size": 0}, ValueError, "batch_size should be a positive integer value, but got batch_size=0"),
    ({"generator": 1.5}, TypeError, "generator must be a numpy.random.Generator"),
])
def test_loader_argument_errors_are_pytorchs(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(Squares(), **kwargs)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_dataset_refuses_orders(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected unspecified {name} option"):
        DataLoader(Stream(3), **kwargs)


def test_iteration_checks_as_pytorch():
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(DataLoader(Squares(), timeout=1))
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        iter(DataLoader(Squares(), num_workers=1, prefetch_factor=0))
    cores = len(os.sched_getaffinity(0))
    with pytest.warns(UserWarning, match=f"will create {cores + 1} worker processes in total. Our suggested max "
                                         f"number of worker in current system is {cores},"):
        DataLoader(Squares(), num_workers=cores + 1)


def test_loader_attributes_are_frozen_after_init():
    loader = DataLoader(Squares(), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.timeout = 5  # not one of PyTorch's frozen attributes


def test_unbatched_loading_converts_single_samples():
    loader = DataLoader(Pairs(np.arange(6.0).reshape(3, 2), np.arange(3)), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and isinstance(items[0], list)  # a tuple sample becomes a list, as in PyTorch
    assert items[2][0].tolist() == [4.0, 5.0] and items[2][0].dtype == sn.float64 and items[2][1].item() == 2


def test_custom_collate_fn_and_sampler():
    loader = DataLoader(Squares(), batch_size=2, sampler=[3, 1, 4], collate_fn=lambda s: [d["name"] for d in s])
    assert list(loader) == [["item3", "item1"], ["item4"]] and len(loader) == 2 and not loader.fast_path()
    assert loader.order().tolist() == [3, 1, 4]


def test_shuffle_is_seeded_and_order_gives_the_batches():
    x = np.arange(40.0).reshape(20, 2)
    loader = DataLoader(TensorDataset(x, np.arange(20)), batch_size=6, shuffle=True, drop_last=True)
    assert loader.fast_path() and isinstance(loader.sampler, RandomSampler) and len(loader) == 3
    sn.manual_seed(9)
    order = loader.order()
    sn.manual_seed(9)
    batches = list(loader)
    assert sorted(order.tolist()) == list(range(20)) and len(batches) == 3
    for k, (xb, yb) in enumerate(batches):  # batch k is the slice [6k, 6k + 6) of order()
        assert yb.tolist() == order[6 * k:6 * k + 6].tolist() and xb.tolist() == x[yb.numpy()].tolist()
    seeded = [[b[1].tolist() for b in DataLoader(TensorDataset(x, np.arange(20)), 5, shuffle=True, generator=3)]
              for _ in range(2)]
    assert seeded[0] == seeded[1] and seeded[0] != [list(range(k, k + 5)) for k in range(0, 20, 5)]


@pytest.mark.parametrize("kwargs", [{}, {"num_samples": 23}, {"num_samples": 7}, {"replacement": True},
                                    {"replacement": True, "num_samples": 30}])
def test_a_random_epoch_drawn_at_once_is_the_epoch_iteration_draws(kwargs):
    """``order()`` takes a random sampler's epoch as one array (not an int at a time): the same draws."""
    sampler = RandomSampler(range(10), generator=None, **kwargs)
    sn.manual_seed(4)
    whole = sampler.indices()
    sn.manual_seed(4)
    assert whole.dtype == np.int64 and whole.tolist() == list(sampler)
    assert SequentialSampler(range(5)).indices().tolist() == [0, 1, 2, 3, 4]


def test_a_sampler_subclass_that_iterates_its_own_way_gives_the_order():
    class Reversed(SequentialSampler):
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    x = np.arange(6, dtype=np.float32)[:, None]
    loader = DataLoader(TensorDataset(x, x), batch_size=2, sampler=Reversed(x))
    assert loader.order().tolist() == [5, 4, 3, 2, 1, 0]
    net = sn.nn.Linear(1, 1)
    step = sn.compile(net, sn.nn.MSELoss(), sn.optim.SGD(net.parameters(), lr=0.0))
    losses = step.fit(loader, epochs=1, progress=False)  # batch k reads rows 5 − 2k and 4 − 2k
    w, b = float(net.weight.numpy()[0, 0]), float(net.bias.numpy()[0])
    expected = [np.mean([(w * v + b - v) ** 2 for v in (5 - 2 * k, 4 - 2 * k)]) for k in range(3)]
    np.testing.assert_allclose(list(losses), expected, rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: DataLoader(Subset(TensorDataset(np.arange(4)), [0, 1])),
    lambda: DataLoader(Squares()),
    lambda: DataLoader(TensorDataset(np.arange(4)), batch_size=None),
    lambda: DataLoader(Stream(4), batch_size=2),
])
def test_fast_path_only_for_tensor_dataset_slices(make):
    assert not make().fast_path()


# ------------------------------------------------------------------------------------------- iterable datasets
#: 0 … n − 1, split among workers with get_worker_info() when ``split``
Stream = cases.stream_dataset(IterableDataset, get_worker_info)


def test_iterable_dataset_is_batched_as_it_streams():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]  # default_convert leaves ints
    assert len(DataLoader(Stream(7), batch_size=3)) == 3 and len(DataLoader(Stream(7), batch_size=3,
                                                                             drop_last=True)) == 2
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(TypeError, match="has no index order"):
        DataLoader(Stream(3)).order()


# ------------------------------------------------------------------------------------------- worker pool
class Tagged(Dataset):
    """Sample i with the pid and worker id that read it (the worker's own dataset copy is set up by init)."""

    def __init__(self, n: int) -> None:
        self.n, self.offset = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        info = get_worker_info()
        return i + self.offset, os.getpid(), -1 if info is None else info.id


def set_offset(worker_id: int) -> None:
    get_worker_info().dataset.offset = 1000 * (worker_id + 1)


class Failing(Squares):
    def __getitem__(self, i: int):
        if i == 5:
            raise ValueError(f"sample {i} is corrupt")
        return super().__getitem__(i)


class Dying(Squares):
    def __getitem__(self, i: int):
        if i == 3:
            os._exit(3)
        return super().__getitem__(i)


class Slow(Squares):
    def __getitem__(self, i: int):
        time.sleep(5)
        return super().__getitem__(i)


def failing_init(worker_id: int) -> None:
    raise KeyError(f"no shard for worker {worker_id}")


@pytest.mark.parametrize("persistent", [False, True])
def test_worker_pool_gives_the_in_process_batches(persistent):
    x = np.random.default_rng(1).standard_normal((23, 3)).astype(np.float32)
    for make in (lambda **kw: DataLoader(Squares(13), batch_size=4, shuffle=True, generator=5, **kw),
                 lambda **kw: DataLoader(TensorDataset(x, np.arange(23)), batch_size=5, shuffle=True, **kw)):
        sn.manual_seed(4)
        in_process = make()
        expected = [list(in_process) for _ in range(2)]
        sn.manual_seed(4)
        loader = make(num_workers=2, persistent_workers=persistent)
        got = [list(loader) for _ in range(2)]
        assert len(loader) == len(expected[0])
        assert batches_equal(expected[0], got[0]) and batches_equal(expected[1], got[1])
        assert not batches_equal(got[0], got[1])  # each epoch reshuffles


@pytest.mark.parametrize("context", ["fork", "spawn"] if DEEP else ["fork"])  # spawn re-imports symnet: ~3 s
def test_worker_start_methods(context):
    loader = DataLoader(Squares(7), batch_size=3, num_workers=2, multiprocessing_context=context)
    assert batches_equal(list(loader), list(DataLoader(Squares(7), batch_size=3)))


def test_persistent_workers_are_reused_and_restart_midway():
    loader = DataLoader(Tagged(8), batch_size=2, num_workers=2, persistent_workers=True)
    pids = {pid for b in loader for pid in b[1].tolist()}
    partial = iter(loader)
    next(partial)  # abandon an epoch: what is in flight must not leak into the next one
    again = list(loader)
    assert [b[0].tolist() for b in again] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert {pid for b in again for pid in b[1].tolist()} == pids and len(pids) == 2 and os.getpid() not in pids
    fresh = DataLoader(Tagged(4), batch_size=2, num_workers=2)
    first, second = ({pid for b in fresh for pid in b[1].tolist()} for _ in range(2))
    assert not first & second  # without persistence each epoch starts new workers


def test_worker_init_fn_and_worker_info():
    loader = DataLoader(Tagged(6), batch_size=1, num_workers=2, worker_init_fn=set_offset)
    samples = [(b[0].item(), b[2].item()) for b in loader]
    assert samples == [(i + 1000 * (i % 2 + 1), i % 2) for i in range(6)]  # round-robin, in sampler order
    assert get_worker_info() is None and [b[2].item() for b in DataLoader(Tagged(2))] == [-1, -1]


@pytest.mark.parametrize("k", range(len(cases.STREAMS)))
def test_iterable_dataset_with_workers_matches_pytorch(k):
    """Each worker streams its own copy: the whole stream once per worker unless __iter__ splits it by
    worker; batches come round-robin from the workers, two epochs alike (persistent workers restart it)."""
    n, split, *options = cases.STREAMS[k]
    got = cases.stream_batches(DataLoader, Stream(n, split), *options)
    assert got == json.loads(str(FIXTURES[f"stream/{k}"]))


def test_out_of_order_delivery_gives_every_batch():
    batches = [b[0].tolist() for b in DataLoader(Tagged(9), batch_size=2, num_workers=2, in_order=False)]
    assert sorted(batches) == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]


def test_worker_exception_is_reraised_with_its_traceback():
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 1") as info:
        list(DataLoader(Failing(), batch_size=1, num_workers=2))
    text = str(info.value)
    assert "Original Traceback (most recent call last)" in text and "sample 5 is corrupt" in text
    assert "in __getitem__" in text
    with pytest.raises(KeyError, match="no shard for worker 0") as info:
        list(DataLoader(Squares(), num_workers=1, worker_init_fn=failing_init))
    assert "Caught KeyError in DataLoader worker process 0" in str(info.value)


def test_dead_worker_raises_instead_of_hanging():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Dying(), batch_size=1, num_workers=2))
    assert time.monotonic() - start < 10


def test_timeout_raises():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        next(iter(DataLoader(Slow(), num_workers=1, timeout=0.3)))
    assert time.monotonic() - start < 8


def test_unpicklable_batch_is_an_error_not_a_hang():
    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0"):
        list(DataLoader(Squares(2), num_workers=1, collate_fn=lambda samples: (lambda: samples)))


# ------------------------------------------------------------------------------------------- training
def test_fit_over_a_per_item_loader_equals_the_tensor_dataset():
    """A loader that is not a TensorDataset trains step by step; its losses are those of the sliced loader."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    losses = []
    for loader in (DataLoader(TensorDataset(x, y), batch_size=8), DataLoader(Pairs(x, y), batch_size=8)):
        sn.manual_seed(0)
        model = sn.nn.Linear(3, 1).double()
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        losses.append(step.fit(loader, epochs=2))
    assert len(losses[0]) == 6 and losses[0] == losses[1]
