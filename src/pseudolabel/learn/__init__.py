"""Learn: train the student (self-training rounds for any estimator)."""

from pseudolabel.learn.defaults import AUTO_CANDIDATES, default_student
from pseudolabel.learn.self_training import SelfTrainer

__all__ = ["AUTO_CANDIDATES", "SelfTrainer", "default_student"]
