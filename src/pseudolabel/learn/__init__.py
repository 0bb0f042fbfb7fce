"""Learn: train the student (self-training rounds for any estimator)."""

from pseudolabel.learn.defaults import DEFAULTS, default_student
from pseudolabel.learn.self_training import SelfTrainer

__all__ = ["DEFAULTS", "SelfTrainer", "default_student"]
