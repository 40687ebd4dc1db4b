"""``cppcc-bot quiz generate``: draft quiz questions from the ingested knowledge base (offline, no model).

Questions are stored as drafts; a reviewer (把关人) or admin approves them with /quiz_review in Telegram
or on the console's 题库 page before members can see them. Running it again adds only new questions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.commands.common import migrated_database
from bot.settings import Settings
from store.quiz import repository as quiz_repo
from store.types import utcnow


def specs_from(questions: Sequence[Any]) -> list[quiz_repo.QuestionSpec]:
    """``knowledge.quiz.Question`` → what the store keeps."""
    return [
        quiz_repo.QuestionSpec(
            kind=q.kind, stem=q.stem, options=list(q.options), answer=q.answer, source=q.source, title=q.title,
            article=q.article, quote=q.quote, explanation=q.explanation, key=q.key, topic=q.title,
        )
        for q in questions
    ]


async def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.commands.kb import _open
    from knowledge import quiz

    kb = _open(settings)
    kb.refresh()
    chunks = [stored.chunk for stored in kb.retriever.chunks]
    if args.source:
        chunks = [c for c in chunks if c.source in set(args.source)]
    questions = quiz.generate(chunks, seed=args.seed)
    async with migrated_database(settings) as db, db.session() as session:
        added = await quiz_repo.save_generated(session, specs=specs_from(questions), now=utcnow())
    by_kind = Counter(q.kind for q in questions)
    if args.json:
        print(json.dumps({"generated": len(questions), "added": added, **by_kind}, ensure_ascii=False))
    else:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
        print(f"{len(questions)} questions generated ({kinds}) from {len(chunks)} chunks; {added} new drafts stored")
        print("approve them with /quiz_review in Telegram or on the console's 题库 page")
    return 0


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("quiz", help="quiz questions: generate drafts from the knowledge base")
    sub = group.add_subparsers(dest="quiz_command", metavar="QUIZ_COMMAND", required=True)
    p = sub.add_parser("generate", help="generate draft questions from the ingested documents (offline)")
    p.add_argument("--source", action="append", metavar="SOURCE", help="only this document (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="shuffles the options (same seed, same questions)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda args, settings: asyncio.run(_generate(args, settings)))
