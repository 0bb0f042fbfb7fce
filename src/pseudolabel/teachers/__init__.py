"""Teachers: where class probabilities for unlabeled samples come from."""

from pseudolabel.teachers.choice import TeacherChoice
from pseudolabel.teachers.cluster import ClusterTeacher, match_clusters
from pseudolabel.teachers.ensemble import (
    EnsembleTeacher,
    mean_entropy,
    mutual_information,
    vote_disagreement,
)
from pseudolabel.teachers.erase import (
    EraseTeacher,
    precorrect_labels,
    propagate,
    propagate_closed_form,
)
from pseudolabel.teachers.estimator import EstimatorTeacher, accepts_sample_weight, fit_weighted
from pseudolabel.teachers.graph import GraphTeacher, spread_labels
from pseudolabel.teachers.knn import knn_graph, knn_search, normalized_adjacency
from pseudolabel.teachers.llp import LLPTeacher, loopy_bp
from pseudolabel.teachers.prototype import PrototypeTeacher
from pseudolabel.teachers.simmatch import SimMatchTeacher, aggregate, instance_similarity, unfold
from pseudolabel.teachers.voting import ExternalLabeler, vote
from pseudolabel.teachers.zeroshot import ZeroShotTeacher

__all__ = [
    "ClusterTeacher",
    "EnsembleTeacher",
    "EraseTeacher",
    "EstimatorTeacher",
    "ExternalLabeler",
    "GraphTeacher",
    "LLPTeacher",
    "PrototypeTeacher",
    "SimMatchTeacher",
    "TeacherChoice",
    "ZeroShotTeacher",
    "accepts_sample_weight",
    "aggregate",
    "fit_weighted",
    "instance_similarity",
    "knn_graph",
    "knn_search",
    "loopy_bp",
    "match_clusters",
    "mean_entropy",
    "mutual_information",
    "normalized_adjacency",
    "precorrect_labels",
    "propagate",
    "propagate_closed_form",
    "spread_labels",
    "unfold",
    "vote",
    "vote_disagreement",
]
