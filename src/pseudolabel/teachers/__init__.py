"""Teachers: where class probabilities for unlabeled samples come from."""

from pseudolabel.teachers.cluster import ClusterTeacher, match_clusters
from pseudolabel.teachers.estimator import EstimatorTeacher, accepts_sample_weight, fit_weighted
from pseudolabel.teachers.graph import GraphTeacher, spread_labels
from pseudolabel.teachers.knn import knn_graph, knn_search, normalized_adjacency

__all__ = [
    "ClusterTeacher",
    "EstimatorTeacher",
    "GraphTeacher",
    "accepts_sample_weight",
    "fit_weighted",
    "knn_graph",
    "knn_search",
    "match_clusters",
    "normalized_adjacency",
    "spread_labels",
]
