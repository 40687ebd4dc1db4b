"""Folder ingestion keeps reference documents and leaves out the folder's own meta-documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import iter_files


def test_folder_meta_documents_are_skipped_but_explicit_files_are_kept(tmp_path: Path) -> None:
    for name in ("章程.md", "README.md", "SOURCES.md", "notes.txt", "data.jsonl", ".hidden.md"):
        (tmp_path / name).write_text("第一条 内容。", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "报告.html").write_text("<p>正文</p>", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["notes.txt", "sub/报告.html", "章程.md"]
    assert list(iter_files([tmp_path / "SOURCES.md"])) == [tmp_path / "SOURCES.md"]


def test_a_folder_named_through_dot_dot_or_inside_a_hidden_folder_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `kb ingest ../shared/kb-samples` from the repository: the ".." is the path to the folder, not a hidden
    # entry in it; the same for a folder kept under a hidden directory (~/.local/share/...).
    folder = tmp_path / ".config" / "kb-samples"
    (folder / ".git").mkdir(parents=True)
    (folder / "章程.md").write_text("第一条 内容。", encoding="utf-8")
    (folder / ".git" / "notes.md").write_text("第一条 内容。", encoding="utf-8")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    relative = Path("..") / ".config" / "kb-samples"
    assert list(iter_files([relative])) == [relative / "章程.md"]
    assert list(iter_files([folder])) == [folder / "章程.md"]
