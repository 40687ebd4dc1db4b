"""How a question went, in the words of the console's overview: answered, uncertain or refused."""

from __future__ import annotations

from knowledge.models import Answer

ANSWERED = "answer"
UNCERTAIN = "uncertain"  # refused, though a retrieved passage shares salient terms with the question
REFUSED = "refused"


def outcome(answer: Answer) -> str:
    if answer.answered:
        return ANSWERED
    if answer.decision == "candidates" or (answer.passages and (answer.support or 0.0) > 0.0):
        return UNCERTAIN
    return REFUSED
