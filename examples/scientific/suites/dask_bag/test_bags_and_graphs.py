"""dask bags and delayed graphs: toolz underneath, cloudpickle for the functions, fsspec for the files."""

import cloudpickle
import dask
import dask.bag as db
import fsspec
import toolz


def test_bag_pipeline_matches_toolz():
    numbers = list(range(20))
    bag = db.from_sequence(numbers, npartitions=4).map(lambda n: n * 3).filter(lambda n: n % 2 == 0)
    expected = list(toolz.filter(lambda n: n % 2 == 0, toolz.map(lambda n: n * 3, numbers)))
    assert sorted(bag.compute(scheduler="synchronous")) == expected


def test_frequencies_and_foldby():
    words = ["a", "b", "a", "c", "b", "a"]
    bag = db.from_sequence(words, npartitions=2)
    assert dict(bag.frequencies().compute(scheduler="synchronous")) == toolz.frequencies(words)


def test_delayed_graph_survives_cloudpickle():
    @dask.delayed
    def add(a, b):
        return a + b

    total = add(add(1, 2), 3)
    restored = cloudpickle.loads(cloudpickle.dumps(total))
    assert restored.compute(scheduler="synchronous") == 6
    assert cloudpickle.loads(cloudpickle.dumps(lambda x: x + 1))(1) == 2


def test_bag_reads_text_through_fsspec_memory_filesystem():
    fs = fsspec.filesystem("memory")
    for i in range(3):
        with fs.open(f"/logs/part{i}.txt", "w") as handle:
            handle.write(f"line {i}\nline {i + 10}\n")
    bag = db.read_text("memory://logs/part*.txt")
    lines = bag.map(str.strip).compute(scheduler="synchronous")
    assert sorted(lines) == sorted(f"line {n}" for n in (0, 1, 2, 10, 11, 12))
