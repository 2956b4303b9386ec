import json
from pathlib import Path

import numpy as np
import pytest

from matching import rootcause
from vocabulary.signals import SIGNAL_CATEGORIES, score_text

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _texts():
    texts = []
    for path in [*DATA.rglob("*.history.json"), *EXAMPLES.glob("*.history.json")]:
        doc = json.loads(path.read_text())
        for retro in doc["retrospectives"]:
            texts += [item["text"] for item in retro["items"]]
            texts += [action["text"] for action in retro.get("actions", [])]
    return texts


def test_profiles_are_exactly_what_the_diagnosis_engine_reads():
    texts = _texts()
    assert len(texts) > 250

    for text in texts:
        expected = score_text(text).scores
        assert rootcause.text_profile(text).tolist() == pytest.approx(
            [expected.get(c, 0.0) for c in SIGNAL_CATEGORIES]
        ), text


def test_agreement_is_the_cosine_of_two_profiles():
    people = rootcause.profile(["Constant tension between the two leads"])
    again = rootcause.profile(["The two managers clash in every review"])
    builds = rootcause.profile(["Builds time out on the old servers"])

    assert rootcause.dominant(people) == "interpersonal"
    assert rootcause.agreement(people, again) == pytest.approx(1.0)
    assert rootcause.agreement(people, builds) == 0.0
    assert rootcause.agreement(people, rootcause.EMPTY) == 0.0
    assert rootcause.agreement(None, people) == 0.0


def test_one_weak_word_is_a_weaker_signal_than_a_strong_one():
    assert rootcause.strength(rootcause.profile(["Our plan"])) == 0.5
    assert rootcause.strength(rootcause.profile(["Plans were unclear"])) == 1.0  # two weak
    assert rootcause.strength(rootcause.profile(["Priorities changed"])) == 1.0
    assert rootcause.strength(rootcause.EMPTY) == 0.0


def test_fix_words_weigh_what_they_weigh_in_the_diagnosis():
    raised = np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)
    fixed = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)

    profile = rootcause.issue_profile(raised, 1, fixed, 1)

    assert profile[3] > profile[0] > 0
    assert rootcause.issue_profile(raised, 2, None, 0)[0] == 0.0
