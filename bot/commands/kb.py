"""``cppcc-bot kb ingest|list|remove|search|eval``: operate and check the knowledge base."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings


def _open(settings: Settings) -> Any:
    from bot.knowledge_wiring import knowledge_config_from
    from knowledge.service import KnowledgeBase

    return KnowledgeBase.open(knowledge_config_from(settings))


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    kb = _open(settings)
    missing = [p for p in args.paths if not Path(p).exists()]
    report = kb.ingest([Path(p) for p in args.paths], progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json(
            {
                "files": [
                    {
                        "path": f.path,
                        "source": f.source,
                        "chunks": f.chunks,
                        "embedded": f.embedded,
                        "reused": f.reused,
                        "removed": f.removed,
                        "clauses": f.clauses,
                        "error": f.error,
                    }
                    for f in report.files
                ],
                "chunks": report.chunks,
                "embedded": report.embedded,
                "clauses": report.clauses,
            }
        )
    else:
        for f in report.files:
            if f.error:
                print(f"skipped  {f.path}: {f.error}", file=sys.stderr)
            else:
                print(
                    f"ingested {f.source}: {f.chunks} chunks ({f.embedded} embedded, {f.reused} unchanged, "
                    f"{f.clauses} clauses embedded)"
                )
        print(f"{len(report.ingested)} files ingested, {len(report.skipped)} skipped, {report.chunks} chunks")
    if kb.embedder is None:
        print("warning: embedding model unavailable; nothing could be embedded", file=sys.stderr)
    return 1 if (report.skipped and not report.ingested) or missing else 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    sources = _open(settings).list_sources()
    if args.json:
        _print_json(
            [
                {"source": s.source, "title": s.title, "chunks": s.chunks, "issuer": s.issuer, "version": s.version}
                for s in sources
            ]
        )
    else:
        for s in sources:
            print(f"{s.source}\t{s.chunks}\t{s.title}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    removed = _open(settings).remove(args.source)
    if removed == 0:
        print(f"no such source: {args.source}", file=sys.stderr)
        return 1
    print(f"removed {args.source}: {removed} chunks")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.evaluation import search_json

    answer = _open(settings).answer(args.question, k=args.k)
    if args.json:
        _print_json(search_json(args.question, answer, args.k))
        return 0
    print(answer.text)
    print()
    for rank, p in enumerate(answer.passages[: args.k], start=1):
        label = p.label or ""
        snippet = p.text.replace("\n", " ")[:80]
        print(f"{rank}. [{p.score:.4f}] {p.source} {label}  {snippet}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.evaluation import load_eval, run_eval

    kb = _open(settings)
    items = load_eval(Path(args.file))
    rows, summary = run_eval(items, lambda q: kb.answer(q, k=args.k), args.k)
    if args.json:
        for row in rows:
            _print_json(row)
        _print_json({"summary": summary.to_json()})
        return 0
    for row in rows:
        rank = summary.ranks.get(row["id"], "-")
        flag = "" if row["correct"] else "\tMISS"
        print(
            f"{row['id']}\tanswered={row['answered']}\trank={rank}\tmode={row['mode']}\tvia={row['via']}"
            f"\tconfidence={row['confidence']:.4f}\tsupport={row['support']}\tquoted={row['quoted']}"
            f"\t{row['question']}{flag}"
        )
    print(
        f"n={summary.n} hit@1={summary.hit1:.3f} hit@5={summary.hit5:.3f} mrr={summary.mrr:.3f} "
        f"refusal_accuracy={summary.refusal_accuracy:.3f} answered={summary.answered_rate:.3f} "
        f"refused_out_of_corpus={summary.refused_out_of_corpus}/{summary.out_of_corpus} "
        f"modes={summary.modes} confident_right={_fmt(summary.answer_precision)} gold_shown={_fmt(summary.shown)}"
    )
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def register(subparsers: Any) -> None:
    kb = subparsers.add_parser("kb", help="knowledge base: ingest, list, remove, search, eval")
    sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    p = sub.add_parser("ingest", help="ingest files or folders (.md .txt .docx .pdf .html)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("list", help="list ingested sources")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="remove one ingested source (its file name)")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("search", help="answer a question and show the passages")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="evaluate on a JSON Lines question set")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)
