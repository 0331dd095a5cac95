"""Word lists for `emozsl embeddings build --words`: the named presets (every word form the corpora's
protocols and the shipped label words use, and the emotion taxonomies) or a file of words."""

from __future__ import annotations

from pathlib import Path

from emozsl.errors import EmozslError
from emozsl.fileio import read_text

# Word lists. The dataset lists hold every word form the protocols and the original code use.
PRESETS: dict[str, list[str]] = {
    "mosei": ["anger", "angry", "disgust", "disgusted", "fear", "fearful", "afraid", "happy",
              "happiness", "sad", "sadness", "surprise", "surprised", "surprising"],
    "iemocap": ["neutral", "happy", "happiness", "sad", "sadness", "angry", "anger", "excited",
                "exciting", "excitement", "fear", "fearful", "afraid", "surprised", "surprising",
                "surprise", "frustrated", "frustrating", "frustration", "disgust", "disgusted", "calm"],
    "ekman": ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "contempt"],
    "plutchik": ["joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation",
                 "serenity", "acceptance", "apprehension", "distraction", "pensive", "boredom",
                 "annoyance", "interest", "ecstasy", "admiration", "terror", "amazement", "grief",
                 "loathing", "rage", "vigilance", "love", "submission", "awe", "disapproval",
                 "remorse", "contempt", "aggressiveness", "optimism"],
    "goemotions": ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
                   "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
                   "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
                   "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral"],
    "states": ["annoyed", "bored", "confused", "content", "ashamed", "guilty", "jealous", "lonely",
               "proud", "relaxed", "worried", "anxious", "nervous", "scared", "terrified", "furious",
               "irritated", "grateful", "hopeful", "amused", "disappointed", "embarrassed", "shame",
               "guilt", "envy", "jealousy", "hope", "anxiety", "loneliness", "contentment", "joyful",
               "disgusting"],
    # Near-synonyms the shipped label words (label_words_*.json) combine with the names above.
    "synonyms": ["fury", "revulsion", "frightened", "glad", "cheerful", "delighted", "unhappy", "sorrow", "gloomy",
                 "astonished", "amazed", "astonishment", "startled", "indifferent", "impassive", "thrilled",
                 "enthusiastic", "eager", "exasperated"],
}
PRESETS["all"] = list(dict.fromkeys(w for words in PRESETS.values() for w in words))


def read_word_list(spec: str) -> list[str]:
    """A preset name, or a UTF-8 file (a byte-order mark skipped) with one word per line (blank
    lines and '#' comments skipped)."""
    if spec in PRESETS:
        return list(PRESETS[spec])
    path = Path(spec)
    if not path.exists():
        raise EmozslError(f"word list '{spec}': neither a preset ({', '.join(PRESETS)}) nor a file")
    words = [line.strip() for line in read_text(path, "word list").splitlines()]
    words = list(dict.fromkeys(w for w in words if w and not w.startswith("#")))
    if not words:
        raise EmozslError(f"{path}: holds no words")
    return words
