"""Data: reading user tables (CSV/Parquet), encoding, embeddings and benchmark loaders.

``TabularEncoder`` (``pseudolabel.data.tabular``) turns a DataFrame of mixed column types into a
float matrix; it is imported on first use, so ``import pseudolabel.data.embed`` stays light.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pseudolabel.data.tabular import TabularEncoder

__all__ = ["TabularEncoder"]


def __getattr__(name: str):
    if name == "TabularEncoder":
        from pseudolabel.data.tabular import TabularEncoder

        return TabularEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
