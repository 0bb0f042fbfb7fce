"""The label store: every human label in SQLite (WAL, append-only history, versioned rows), imports
from the user's table and from Label Studio, exports to CSV/Parquet and Label Studio tasks, and the
labels ``pseudolabel fit`` reads (``--labels`` or ``RUN_DIR/labels.db``)."""

from pseudolabel.store.labelstudio import export_tasks, import_tasks, label_config
from pseudolabel.store.sqlite import (
    Label,
    LabelStore,
    StoreError,
    UnknownClass,
    VersionConflict,
    row_key,
)
from pseudolabel.store.tables import (
    STORE_NAME,
    apply_store_labels,
    default_store,
    export_table,
    import_table,
    to_values,
)

__all__ = [
    "STORE_NAME",
    "Label",
    "LabelStore",
    "StoreError",
    "UnknownClass",
    "VersionConflict",
    "apply_store_labels",
    "default_store",
    "export_table",
    "export_tasks",
    "import_table",
    "import_tasks",
    "label_config",
    "row_key",
    "to_values",
]
