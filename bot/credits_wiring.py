"""Settings → the credit rules (``services.config(CreditRules)`` in handlers); a bad file stops start-up."""

from __future__ import annotations

from bot.settings import Settings, SettingsError
from store.credits.rules import CreditRules, RulesError, load_rules


def credit_rules(settings: Settings) -> CreditRules:
    """Load and validate CREDIT_RULES_FILE (or the shipped defaults); raise SettingsError naming the line."""
    try:
        rules = load_rules(settings.credit_rules_file)
    except RulesError as exc:
        raise SettingsError(f"CREDIT_RULES_FILE: {exc}") from None
    return rules
