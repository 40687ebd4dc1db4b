"""The wiring handlers rely on: every feature's configuration is found by type, and a missing one is an error."""

from __future__ import annotations

import pytest

from bot.services import build_services
from bot.settings import Settings
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import FeatureConfigs
from store.credits.rules import CreditRules, default_rules
from store.proposals.config import ProposalsConfig


def test_configs_are_found_by_type() -> None:
    rules = default_rules()
    configs = FeatureConfigs(ProposalsConfig(yellow_days=5), rules)
    assert configs.get(ProposalsConfig).yellow_days == 5
    assert configs.get(CreditRules) is rules


def test_a_missing_configuration_is_an_error_not_defaults() -> None:
    with pytest.raises(KeyError, match="BroadcastConfig"):
        FeatureConfigs(ProposalsConfig()).get(BroadcastConfig)


def test_two_configurations_of_one_type_are_refused() -> None:
    with pytest.raises(ValueError, match="ProposalsConfig"):
        FeatureConfigs(ProposalsConfig(), ProposalsConfig(yellow_days=1))


async def test_build_services_provides_every_feature_configuration(settings: Settings) -> None:
    services = build_services(settings, with_knowledge=False)
    try:
        assert services.config(ProposalsConfig).categories == tuple(settings.proposal_categories)
        assert services.config(CreditRules) is services.config(ProposalsConfig).credit_rules
        assert services.config(BroadcastConfig).defaults == services.prefs_defaults
    finally:
        await services.db.dispose()
