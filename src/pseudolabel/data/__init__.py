"""Data: reading user tables (CSV/Parquet), encoding, embeddings and benchmark loaders."""
