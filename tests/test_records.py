"""vae.records: the shuffling shard writer and the shard checker."""
import os

import numpy as np
import pytest

from vae.data import records


def frame(value, size=(4, 6)):
    return np.full((size[0], size[1], 3), value, np.uint8)


def test_writer_shuffles_and_counts(tmp_path):
    with records.ShuffledShardWriter(str(tmp_path), num_shards=3, seed=1) as writer:
        for i in range(60):
            writer.add(records.encode_example(frame(i), source_id=i // 20, origin=f"f#{i}"))
        shards = writer.finish()
    assert sum(s["count"] for s in shards) == 60
    assert sorted(os.listdir(tmp_path)) == sorted(s["file"] for s in shards)  # no temp files
    seen = []
    for shard in shards:
        path = str(tmp_path / shard["file"])
        assert records.file_sha256(path) == shard["sha256"]
        count, problems = records.check_shard(path, 6, 4, {0, 1, 2},
                                              lambda s, o, img: seen.append(int(img[0, 0, 0])))
        assert count == shard["count"] and problems == []
    assert sorted(seen) == list(range(60)) and seen != sorted(seen)


def test_writer_interrupted_leaves_nothing(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(KeyboardInterrupt):
        with records.ShuffledShardWriter(str(out), num_shards=2) as writer:
            writer.add(records.encode_example(frame(1), 0, "x"))
            raise KeyboardInterrupt
    assert not out.exists()


def test_check_shard_reports_wrong_size_and_unknown_source(tmp_path):
    with records.ShuffledShardWriter(str(tmp_path), num_shards=1) as writer:
        writer.add(records.encode_example(frame(1, (5, 6)), 0, "wrong size"))
        writer.add(records.encode_example(frame(1), 7, "unknown source"))
        shards = writer.finish()
    count, problems = records.check_shard(str(tmp_path / shards[0]["file"]), 6, 4, {0})
    assert count == 2 and len(problems) == 2
    assert any("6x5" in p for p in problems) and any("unknown source id 7" in p for p in problems)

