"""Query: which rows a person should label (or check) next — registered strategies (kind ``"query"``).

Ranking strategies score every candidate (``entropy_sampling``, ``margin_sampling``,
``least_confidence``, ``density_weighted``, ``ripu``, ``noise_stability``, ``likely_wrong``);
batch-aware ones build the batch jointly (``random_sampling``, ``coreset``, ``badge``,
``typiclust`` for the cold start, ``audit_sample`` for the stratified precision audit).
:mod:`pseudolabel.query.batch` holds the reusable batch parts (dedup, k-means cells, class
balance, k-centre greedy, k-means++ seeding). See docs/methods/query.md.
"""

from pseudolabel.query.audit_sample import AuditSample
from pseudolabel.query.badge import Badge, gradient_embedding
from pseudolabel.query.base import BaseQuery
from pseudolabel.query.batch import (
    class_balanced_order,
    dedup_order,
    k_center_greedy,
    kmeans_cells,
    kmeanspp_seeding,
    rank_batch,
)
from pseudolabel.query.coreset import CoreSet
from pseudolabel.query.density import DensityWeighted, density
from pseudolabel.query.entropy import EntropySampling
from pseudolabel.query.least_confidence import LeastConfidence
from pseudolabel.query.likely_wrong import LikelyWrong, label_quality
from pseudolabel.query.margin import MarginSampling, margin_uncertainty
from pseudolabel.query.noise import NoiseStability, prediction_change
from pseudolabel.query.random import RandomSampling
from pseudolabel.query.ripu import RIPU, region_impurity
from pseudolabel.query.typiclust import TypiClust, typicality

__all__ = [
    "RIPU",
    "AuditSample",
    "Badge",
    "BaseQuery",
    "CoreSet",
    "DensityWeighted",
    "EntropySampling",
    "LeastConfidence",
    "LikelyWrong",
    "MarginSampling",
    "NoiseStability",
    "RandomSampling",
    "TypiClust",
    "class_balanced_order",
    "dedup_order",
    "density",
    "gradient_embedding",
    "k_center_greedy",
    "kmeans_cells",
    "kmeanspp_seeding",
    "label_quality",
    "margin_uncertainty",
    "prediction_change",
    "rank_batch",
    "region_impurity",
    "typicality",
]
