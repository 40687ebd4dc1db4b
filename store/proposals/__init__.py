"""Micro-proposals (微建议): lifecycle rules, repository, warnings, similarity, outboxes."""
