"""emozsl.features' pool of worker processes: the per-clip extractors give the same features, counts
and failures in workers as in this process, and read back what the pool cached."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emozsl.data import load_dataset
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.errors import EmozslError
from emozsl.features import extract_features, read_recipe
from emozsl.features.extractors import OPENFACE_COLUMNS
from emozsl.features.runner import MIN_POOLED_CLIPS, pool_workers

pytest.importorskip("soundfile")
pytest.importorskip("opensmile")
SIZES = {"train": 8, "valid": 4, "test": 4}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return synth_raw(tmp_path_factory.mktemp("pool") / "raw", sizes=SIZES)


def features(out):
    data = load_dataset(out)
    return {s: {m: part.features[m] for m in part.features} for s, part in data.splits.items()}


@pytest.mark.slow
def test_workers_give_the_features_of_one_process_and_the_cache_reads_them_back(table, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOZSL_CACHE", str(tmp_path / "cache"))
    one = extract_features(table, tmp_path / "one.h5", audio="opensmile:egemaps", cache=False, workers=1)
    two = extract_features(table, tmp_path / "two.h5", audio="opensmile:egemaps", workers=2)
    assert one.summary["workers"] == 1 and two.summary["workers"] == 2
    a, b = features(one.out), features(two.out)
    for split in a:
        assert np.array_equal(a[split]["audio"], b[split]["audio"])
    assert one.recipe["extractors"]["audio"]["stats"] == two.recipe["extractors"]["audio"]["stats"]
    assert two.summary["cached"] == {"audio": 0}
    again = extract_features(table, tmp_path / "again.h5", audio="opensmile:egemaps", workers=2)
    assert again.summary["cached"] == {"audio": sum(SIZES.values())}
    c = features(again.out)
    for split in a:
        assert np.array_equal(a[split]["audio"], c[split]["audio"])


@pytest.mark.slow
def test_a_clip_failing_in_a_worker_is_named_and_left_out_and_strict_stops(table, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOZSL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "openface"
    folder.mkdir()  # no CSV for any clip but the ones written below
    data = load_dataset(table, labels="optional")
    ids = [str(u) for part in data.splits.values() for u in part.ids]
    header = "frame, face_id, timestamp, confidence, success, " + ", ".join(OPENFACE_COLUMNS)
    (table.parent / "media" / f"{ids[0]}.csv").unlink()  # nor beside its clip, where the generator wrote one
    for uid in ids[1:]:
        (folder / f"{uid}.csv").write_text(header + "\n" + "\n".join(
            ", ".join(["1", "0", f"{t / 10:g}", "0.9", str(int(t % 7 > 0))] + ["0.5"] * 49) for t in range(20))
            + "\n")
    result = extract_features(table, tmp_path / "out.h5", visual=f"openface:{folder}", workers=2)
    one = extract_features(table, tmp_path / "one.h5", visual=f"openface:{folder}", workers=1, cache=False)
    stats = result.recipe["extractors"]["visual"]["stats"]
    assert stats == one.recipe["extractors"]["visual"]["stats"] and stats["frames"] == 20 * (len(ids) - 1)
    assert result.summary["frames_face_lost"] == one.summary["frames_face_lost"] == 3 * (len(ids) - 1)
    assert result.summary["failures"] == {"openface_csv": 1}
    assert [f["id"] for f in result.summary["failed"]] == [ids[0]]
    assert ids[0] in result.summary["failed"][0]["error"]
    with pytest.raises(EmozslError, match=f"clip {ids[0]} .*strict"):
        extract_features(table, tmp_path / "strict.h5", visual=f"openface:{folder}", workers=2, strict=True,
                         cache=False)


def test_pool_workers_default_to_the_cores_for_enough_clips_and_check_a_given_count():
    assert pool_workers(None, MIN_POOLED_CLIPS - 1) == 1
    assert pool_workers(None, MIN_POOLED_CLIPS) >= 1
    assert pool_workers(3, 1) == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(EmozslError, match="workers"):
            pool_workers(bad, 10)



def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


@pytest.mark.slow
def test_a_killed_extraction_leaves_no_output_nor_workers_and_resumes_from_the_cache(tmp_path):
    table = synth_raw(tmp_path / "raw", sizes={"train": 40, "valid": 4, "test": 4})
    env = {**os.environ, "EMOZSL_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out.h5"
    command = [sys.executable, "-m", "emozsl.cli", "-q", "features", "extract", str(table), str(out),
               "--audio", "opensmile:egemaps", "--workers", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cache = tmp_path / "cache" / "features" / "audio"
    deadline = time.time() + 120
    while len(list(cache.glob("*.npz"))) < 8:
        assert time.time() < deadline and process.poll() is None, process.stderr.read() if process.poll() else "slow"
        time.sleep(0.02)
    workers = children(process.pid)
    process.kill()
    process.wait()
    assert workers and not out.exists()
    deadline = time.time() + 30  # a worker whose parent died exits (its task queue closes)
    while any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text().lower()
              for w in workers):
        assert time.time() < deadline, "a worker outlived the killed extraction"
        time.sleep(0.1)
    done = len(list(cache.glob("*.npz")))
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert read_recipe(out)["summary"]["cached"]["audio"] >= done  # what the killed one extracted is not redone
    resumed = extract_features(table, tmp_path / "again.h5", audio="opensmile:egemaps", workers=1, cache=False)
    a, b = features(out), features(resumed.out)
    for split in a:
        assert np.array_equal(a[split]["audio"], b[split]["audio"])
    assert done >= 8 and len(list(cache.glob("*.npz"))) == 48


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_at_a_clips_end_and_caches_no_clip_short_of_frames(tmp_path, workers, monkeypatch):
    """openSMILE swallows an interrupt inside its frame callback and returns the clip short of frames:
    Ctrl-C (SIGINT to the whole process group, as a terminal sends it) must stop the extraction at a
    clip's end, write no output, and leave only whole clips in the cache."""
    import signal

    table = synth_raw(tmp_path / "raw", sizes={"train": 40, "valid": 4, "test": 4})
    monkeypatch.setenv("EMOZSL_CACHE", str(tmp_path / "cache"))
    env = dict(os.environ)
    out = tmp_path / "out.h5"
    command = [sys.executable, "-m", "emozsl.cli", "-q", "features", "extract", str(table), str(out),
               "--audio", "opensmile:egemaps", "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    cache = tmp_path / "cache" / "features" / "audio"
    deadline = time.time() + 120
    while len(list(cache.glob("*.npz"))) < 6:
        assert time.time() < deadline and process.poll() is None, process.stderr.read() if process.poll() else "slow"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode != 0 and not out.exists()
    kept = len(list(cache.glob("*.npz")))
    resumed = extract_features(table, tmp_path / "resumed.h5", audio="opensmile:egemaps", workers=1)
    assert resumed.summary["cached"]["audio"] == kept < 48
    fresh = extract_features(table, tmp_path / "fresh.h5", audio="opensmile:egemaps", workers=1, cache=False)
    a, b = features(resumed.out), features(fresh.out)
    for split in a:
        assert np.array_equal(a[split]["audio"], b[split]["audio"])
