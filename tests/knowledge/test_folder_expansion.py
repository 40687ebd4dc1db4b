"""Folder ingestion keeps reference documents and leaves out the folder's own meta-documents."""

from __future__ import annotations

from pathlib import Path

from knowledge.loaders import iter_files


def test_folder_meta_documents_are_skipped_but_explicit_files_are_kept(tmp_path: Path) -> None:
    for name in ("章程.md", "README.md", "SOURCES.md", "notes.txt", "data.jsonl", ".hidden.md"):
        (tmp_path / name).write_text("第一条 内容。", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "报告.html").write_text("<p>正文</p>", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["notes.txt", "sub/报告.html", "章程.md"]
    assert list(iter_files([tmp_path / "SOURCES.md"])) == [tmp_path / "SOURCES.md"]
