"""Last-layer representations for gradient-embedding strategies (BADGE) and core-set.

* ``ConsistencyClassifier`` (the neural learner, torch extra): the penultimate features of the
  returned network (``Network.forward`` gives ``(features, logits)``; the heads are linear on
  them), computed in eval mode in batches;
* any other model: ``None`` with the reason — the strategies then use the input features, which
  for a linear softmax model (the default logistic-regression student) *are* the last layer's input
  (up to its scaler) and for anything else are the stated approximation.
"""

from __future__ import annotations

import numpy as np


def last_layer(model, X) -> tuple[np.ndarray | None, str]:
    """(embedding or None, description of what it is)."""
    if type(model).__name__ == "ConsistencyClassifier" and hasattr(model, "model_"):
        return _neural_features(model, X), "penultimate features of the neural learner (ConsistencyClassifier)"
    return None, (f"{type(model).__name__} exposes no last layer: the input features are used (exact for a linear "
                  "softmax student, an approximation otherwise)")


def _neural_features(model, X) -> np.ndarray:
    from pseudolabel.learn.neural.pseudo import forward
    from pseudolabel.learn.neural.trainer import _torch_threads

    with _torch_threads(model.n_threads):
        Xt = model._to_tensor(X, fitting=False)
        feats, _ = forward(model.model_, Xt, model.eval_batch_size, features=True)
    return feats.double().numpy()
