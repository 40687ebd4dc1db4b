"""Feature configuration handed from settings to the proposal rules and handlers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from store.credits.rules import CreditRules

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "经济发展",
    "社会民生",
    "生态环境",
    "城乡建设",
    "教育文化",
    "医疗卫生",
    "社会治理",
    "其他",
)


@dataclass(frozen=True)
class ProposalsConfig:
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    yellow_days: int = 2
    default_deadline_days: int = 15
    webhook_url: str | None = None
    webhook_secret: str | None = None
    number_prefix: str = "WJY"
    draft_reminder_hours: int = 24
    # The credit rules in force (受理 and 采纳 award points); None: the shipped defaults.
    credit_rules: CreditRules | None = None
    # Where the bot keeps downloaded photos (``DATA_DIR/proposal-photos``); None: photos stay Telegram file ids.
    photo_dir: Path | None = None

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)
