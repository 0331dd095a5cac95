"""Feature extraction speed: seconds of media extracted per wall second (x real time), per extractor
usable offline, on the generated raw data (what `emozsl data synth --format raw` writes), each with
a cold (fresh, empty) per-clip cache, in one process and with the pool of workers of the per-clip
extractors (as many as the cores); and the combination words + eGeMAPS + OpenFace, with emozsl's
own share of it measured apart (in one process, where the time inside openSMILE can be measured).

    python benchmarks/extract.py [--size small] [--out benchmarks/results/extract_cpu.txt]

Inputs made here in their real layouts: a word2vec text file covering the generated vocabulary
(300 d, as GloVe 840B) and one OpenFace 2.2 FeatureExtraction CSV per clip (all 714 columns, 30
fps, as long as the clip). emozsl's own work: (a) a no-op audio extractor that only decodes the clip
(decoding + pooling + writing + the cache, no features), (b) in the combination, everything but the
time inside openSMILE (opensmile.Smile.process_signal; the CSV parsing of OpenFace's output is
emozsl's). Targets (the issue): >= 80x real time for words + eGeMAPS + OpenFace on 2 cores, emozsl's
own work at most a fifth of it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_inputs(root: Path, size: str):
    import soundfile

    from emozsl.data import load_dataset
    from emozsl.data.generated.raw_synth import synth_raw
    from emozsl.features.openface_layout import openface_header, write_openface_csv

    table = synth_raw(root / "raw", size=size)
    data = load_dataset(table, labels="optional")
    rng = np.random.default_rng(0)
    header = openface_header()
    openface = root / "openface"
    openface.mkdir()
    vocabulary, seconds = set(), 0.0
    for split in data.splits.values():
        for uid, ref, text in zip(split.ids, split.features["audio"].items, split.features["text"].items):
            length = soundfile.info(str(ref.path)).duration
            seconds += length
            frames = int(length * 30)
            values = rng.normal(size=(frames, len(header))).round(3)
            values[:, 0], values[:, 1], values[:, 2] = np.arange(1, frames + 1), 0, np.arange(frames) / 30
            values[:, 4] = rng.random(frames) > 0.05  # success; 5% of frames with the face lost
            write_openface_csv(openface / f"{uid}.csv", values, durable=False)
            vocabulary.update(text.lower().split())
    vectors = root / "vectors.txt"
    with vectors.open("w") as f:
        f.write(f"{len(vocabulary)} 300\n")
        for word in sorted(vocabulary):
            f.write(word + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=300)) + "\n")
    return table, openface, vectors, sum(len(s.ids) for s in data.splits.values()), seconds


def noop(arg, settings):
    """An audio extractor that decodes the clip and gives one zero per 10 ms: emozsl's own work."""
    from emozsl.features import extractors as impl

    def run(utterance):
        samples = impl.samples_of(utterance)
        count = max(1, len(samples) // impl.HOP)
        return np.zeros((count, 1), np.float32), impl._frame_times(count, impl.HOP / impl.SAMPLE_RATE,
                                                                     impl.N_FFT / impl.SAMPLE_RATE, True)

    return impl.Opened(run, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", help="generated raw data size (small: 640 clips)")
    parser.add_argument("--out", default=None, help="also write the table here")
    args = parser.parse_args()

    import emozsl
    from emozsl.features import extract_features
    from emozsl.features import extractors as impl
    from emozsl.features.runner import pool_workers

    try:
        import opensmile
    except ImportError:
        opensmile = None
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        table, openface, vectors, clips, seconds = make_inputs(root, args.size)
        say(f"emozsl {emozsl.__version__}, python {platform.python_version()}, {platform.machine()}, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        say(f"data: generated raw ({args.size}): {clips} clips, {seconds:.0f} s of audio "
            f"(inputs made in {time.perf_counter() - started:.0f} s); cold per-clip cache for each row")
        runs = [("words:FILE (300 d)", {"text": f"words:{vectors}"}),
                ("logmel", {"audio": "logmel"}),
                ("mfcc", {"audio": "mfcc"}),
                ("opensmile:egemaps", {"audio": "opensmile:egemaps"} if opensmile else None),
                ("openface (CSV)", {"visual": f"openface:{openface}"}),
                ("no-op audio (decode only: emozsl's own)", {"audio": "noop"}),
                ("words + eGeMAPS + OpenFace", {"text": f"words:{vectors}", "audio": "opensmile:egemaps",
                                                "visual": f"openface:{openface}"} if opensmile else None)]
        workers = pool_workers(None, clips)
        say(f"{'extractor':<42} {'clips':>6} {'media s':>8} {'1 process':>19} {f'{workers} workers':>19}")
        say(f"{'':<42} {'':>6} {'':>8} {'wall s':>7} {'x real time':>11} {'wall s':>7} {'x real time':>11}")
        spent = {"opensmile": 0.0, "decode": 0.0}
        if opensmile is not None:
            process = opensmile.Smile.process_signal

            def timed_process(self, *a, **k):
                t = time.perf_counter()
                try:
                    return process(self, *a, **k)
                finally:
                    spent["opensmile"] += time.perf_counter() - t

            opensmile.Smile.process_signal = timed_process
        samples_of = impl.samples_of

        def timed_samples(*a, **k):
            t = time.perf_counter()
            try:
                return samples_of(*a, **k)
            finally:
                spent["decode"] += time.perf_counter() - t

        impl.samples_of = timed_samples
        impl.noop = noop
        from emozsl.features import registry

        registry.EXTRACTORS = (*registry.EXTRACTORS, registry.Extractor("noop", "audio", "", 1, "10 ms", 1, "noop"))
        combination = None
        for k, (name, kwargs) in enumerate(runs):
            if kwargs is None:
                say(f"{name:<42} (opensmile not installed)")
                continue
            cells = []
            for n in (1, workers):
                # a cold cache for each measurement; with 1 process the time inside openSMILE is measured
                os.environ["EMOZSL_CACHE"] = str(root / f"cache{k}-{n}")
                spent.update(opensmile=0.0, decode=0.0)
                t = time.perf_counter()
                done = extract_features(table, root / f"out{k}-{n}.h5", max_steps=50, align="none", workers=n,
                                        **kwargs)
                wall = time.perf_counter() - t
                media = done.summary["media_seconds"] or seconds
                pooled = done.summary["workers"] > 1
                cells.append(f"{wall:>7.1f} {media / wall:>10.0f}x" if n == 1 or pooled else f"{'(not pooled)':>19}")
                if name.startswith("words +") and n == 1:
                    combination = (wall, dict(spent), done.summary)
            say(f"{name:<42} {done.summary['extracted']:>6} {media:>8.0f} {cells[0]} {cells[1]}")
        if combination is not None:
            wall, parts, summary = combination
            own = wall - parts["opensmile"]
            say()
            say(f"words + eGeMAPS + OpenFace in 1 process, {wall:.1f} s: inside openSMILE {parts['opensmile']:.1f} s; emozsl's own "
                f"{own:.1f} s = {own / wall:.0%} (of which decoding {parts['decode']:.1f} s; the rest reading "
                f"the OpenFace CSVs and word vectors, pooling, writing, the cache); frames with the face lost: "
                f"{summary.get('frames_face_lost')}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
