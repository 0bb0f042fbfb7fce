"""Teachers: where class probabilities for unlabeled samples come from."""

# kernels re-exported under their old public names; they live in pseudolabel.ops
from pseudolabel.ops.ensemble import mean_entropy, mutual_information, vote_disagreement
from pseudolabel.ops.estimators import accepts_sample_weight, fit_weighted
from pseudolabel.ops.knn import knn_graph, knn_search, normalized_adjacency
from pseudolabel.ops.propagation import spread_labels
from pseudolabel.ops.simmatch import aggregate, unfold
from pseudolabel.teachers.choice import TeacherChoice
from pseudolabel.teachers.cluster import ClusterTeacher, match_clusters
from pseudolabel.teachers.ensemble import EnsembleTeacher
from pseudolabel.teachers.erase import (
    EraseTeacher,
    precorrect_labels,
    propagate,
    propagate_closed_form,
)
from pseudolabel.teachers.estimator import EstimatorTeacher
from pseudolabel.teachers.graph import GraphTeacher
from pseudolabel.teachers.llp import LLPTeacher, loopy_bp
from pseudolabel.teachers.prototype import PrototypeTeacher
from pseudolabel.teachers.simmatch import SimMatchTeacher, instance_similarity
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
