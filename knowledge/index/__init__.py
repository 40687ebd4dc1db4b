"""Indexes: the Chroma vector store (source of truth) and the in-memory BM25 beside it."""
