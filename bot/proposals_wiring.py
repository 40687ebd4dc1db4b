"""Settings → the micro-proposal feature's configuration (``services.config(ProposalsConfig)`` in handlers)."""

from __future__ import annotations

from bot.settings import Settings
from store.credits.rules import CreditRules
from store.proposals.config import ProposalsConfig

PHOTO_FOLDER = "proposal-photos"  # downloaded 随手拍 photos, inside the data dir (never a served path)


def proposals_config(settings: Settings, *, credit_rules: CreditRules | None = None) -> ProposalsConfig:
    return ProposalsConfig(
        credit_rules=credit_rules,
        categories=tuple(settings.proposal_categories),
        yellow_days=settings.proposal_yellow_days,
        default_deadline_days=settings.proposal_default_deadline_days,
        webhook_url=settings.proposals_webhook_url,
        webhook_secret=settings.proposals_webhook_secret,
        photo_dir=settings.data_dir / PHOTO_FOLDER,
    )
