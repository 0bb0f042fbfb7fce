"""Audit: how right are the pseudo-labels (calibration, precision/coverage), as numbers and a report."""

from pseudolabel.audit.metrics import (
    accuracy_coverage,
    expected_calibration_error,
    pseudo_label_quality,
    reliability,
)
from pseudolabel.audit.query import query_scores, select_queries
from pseudolabel.audit.report import heldout_metrics, render_report, write_report

__all__ = [
    "accuracy_coverage",
    "expected_calibration_error",
    "heldout_metrics",
    "pseudo_label_quality",
    "query_scores",
    "reliability",
    "render_report",
    "select_queries",
    "write_report",
]
