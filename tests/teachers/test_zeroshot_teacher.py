import hashlib

import numpy as np
import pytest

from pseudolabel.core.registry import make
from pseudolabel.teachers.zeroshot import ZeroShotTeacher, class_descriptions


class BagOfWords:
    """A fake sentence encoder: hashed bag of words, unit-normalised (fast, deterministic)."""

    dim = 64

    def encode(self, texts, normalize_embeddings=True, convert_to_numpy=True, **kwargs):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(n, 1e-12)


def test_class_descriptions_from_list_dict_and_template():
    assert class_descriptions(["a", ["b", "c"]], "about {}") == [["about a"], ["about b", "about c"]]
    assert class_descriptions({"pos": "good", "neg": "bad"}) == [["bad"], ["good"]]  # sorted labels
    with pytest.raises(ValueError, match="class_names"):
        class_descriptions(None)


def test_texts_and_embeddings_give_the_same_probabilities():
    enc = BagOfWords()
    t = ZeroShotTeacher(class_names=["sports football", "cooking food"], encoder=enc, temperature=0.1)
    texts = ["football match tonight", "cooking pasta food", "sports news"]
    p = t.transduce(texts)
    np.testing.assert_array_equal(p.argmax(axis=1), [0, 1, 0])
    np.testing.assert_allclose(t.predict_proba(enc.encode(texts)), p, atol=1e-6)
    cos = enc.encode(texts) @ t.class_embeddings_.T
    np.testing.assert_allclose(p, np.exp(cos / 0.1) / np.exp(cos / 0.1).sum(1, keepdims=True), atol=1e-6)


def test_several_descriptions_per_class_are_averaged():
    enc = BagOfWords()
    t = ZeroShotTeacher(class_names=[["alpha", "beta"], ["gamma"]], encoder=enc).fit()
    a, b = enc.encode(["alpha", "beta"])
    mean = (a + b) / np.linalg.norm(a + b)
    np.testing.assert_allclose(t.class_embeddings_[0], mean, atol=1e-6)


def test_errors_name_the_fix():
    enc = BagOfWords()
    t = ZeroShotTeacher(class_names=["a", "b"], encoder=enc).fit()
    with pytest.raises(ValueError, match="same encoder"):
        t.predict_proba(np.ones((2, 5)))
    with pytest.raises(ValueError, match="3 classes"):
        ZeroShotTeacher(class_names=["a", "b"], encoder=enc).fit(n_classes=3)
    with pytest.raises(ValueError, match="temperature"):
        ZeroShotTeacher(class_names=["a", "b"], encoder=enc, temperature=0).fit()


def test_inside_self_trainer_on_embeddings():
    from pseudolabel import SelfTrainer

    rng = np.random.default_rng(0)
    words = {0: ["football", "match", "goal", "team"], 1: ["pasta", "oven", "recipe", "bake"]}
    yt = np.arange(80) % 2
    texts = [" ".join(rng.choice(words[c], 3)) for c in yt]
    enc = BagOfWords()
    X = enc.encode(texts).astype(np.float64)
    y = np.full(80, -1)
    y[:4] = yt[:4]
    teacher = ZeroShotTeacher(class_names=["football match goal team", "pasta oven recipe bake"], encoder=enc)
    st = SelfTrainer(teacher=teacher, max_rounds=1, cv=2, random_state=0).fit(X, y)
    assert (st.predict(X) == yt).mean() > 0.95
    assert isinstance(make("teacher", "zeroshot(class_names=['a', 'b'])"), ZeroShotTeacher)


@pytest.fixture(scope="module")
def minilm():
    from pseudolabel.data.embed import load_encoder

    try:
        return load_encoder()
    except ImportError as exc:  # pragma: no cover - the text extra is missing
        pytest.skip(str(exc))


@pytest.mark.text
def test_real_minilm_zero_shot(minilm):
    t = ZeroShotTeacher(class_names=["sports", "cooking", "finance"], encoder=minilm)
    texts = [
        "The striker scored twice and the team won the league.",
        "Knead the dough and bake the bread for twenty minutes.",
        "Stocks fell as the central bank raised interest rates.",
    ]
    p = t.transduce(texts)
    np.testing.assert_array_equal(p.argmax(axis=1), [0, 1, 2])
    emb = minilm.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(t.predict_proba(emb), p, atol=1e-5)
