"""Words the console shows that are also the bot's: ``web/`` may not import ``handlers/``, so it keeps copies;
this keeps each copy equal to the bot's, so staff and members read the same label for the same thing."""

from __future__ import annotations

from handlers import texts as bot_texts
from web import texts


def test_console_copies_of_bot_labels_are_the_bots() -> None:
    assert texts.PROPOSAL_STATUS_LABELS == bot_texts.PROPOSAL_STATUS_LABELS
    assert texts.PROPOSAL_RATING_LABELS == bot_texts.PROPOSAL_RATING_LABELS
    assert texts.QUIZ_STATUS_LABELS == bot_texts.QUIZ_STATUS_LABELS
    assert texts.DISPUTE_RESOLVED_MEMBER == bot_texts.DISPUTE_RESOLVED_MEMBER
    assert texts.DISPUTE_RESULTS == bot_texts.DISPUTE_RESULTS
