"""Property-based fuzzing of the real Application with generated updates (a small, reproducible sample).

One Application (all FEATURES, in-process fake Bot API, a fresh SQLite database) serves every
hypothesis example of a test; state carries over between examples and the invariants of
``tests/fuzz/harness.py`` must hold cumulatively: no handler error, every private message and button
press answered, nothing private in groups, channels or to strangers, a consistent database.

The app is built inside the test (on its own event loop), so no function-scoped fixture is shared
across examples. ``bench/fuzz_bench.py`` runs the same generator for ≥ 10,000 updates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.harness import FuzzHarness

SAMPLE = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large), print_blob=True,
)


def _fuzz(tmp_path: Path, template: Path, strategy: st.SearchStrategy[Sequence[fz.Event]], *,
          opening: tuple[fz.Event, ...] = ()) -> FuzzHarness:
    """Run ``strategy``'s examples through one harness; fail on the first example breaking an invariant."""
    with asyncio.Runner() as runner:
        harness = runner.run(FuzzHarness.open(tmp_path / "data", template_db=template))
        try:
            assert runner.run(harness.run(opening)) == []

            @SAMPLE
            @given(events=strategy)
            def example(events: Sequence[fz.Event]) -> None:
                problems = runner.run(harness.run(events))
                problems += runner.run(harness.check_database())
                assert not problems, "\n".join(problems[:5])

            example()
        finally:
            runner.run(harness.close())
    return harness


def test_generated_updates_keep_every_invariant(tmp_path: Path, migrated_template: Path) -> None:
    harness = _fuzz(tmp_path, migrated_template, fz.event_lists, opening=fz.OPENERS)
    report = harness.report
    assert report.violations == []
    # The sample really covered the ground it claims to (not an always-true property).
    assert report.updates >= 250
    kinds = {k.split(":")[0] for k in report.kinds}
    assert {"text", "command", "press", "media", "edit", "redelivery", "service"} <= kinds


def test_interleaved_dialogues_of_bound_users(tmp_path: Path, migrated_template: Path) -> None:
    """Several members and staff mid-dialogue at once: only dialogue steps and taps on real buttons."""
    steps = st.lists(st.one_of(
        st.builds(fz.Say, fz.bound_users, st.sampled_from(fz.DOMAIN_TEXTS)),
        st.builds(fz.Say, fz.bound_users, fz.command_text()),
        st.builds(fz.Tap, fz.bound_users, st.integers(0, 30)),
        st.builds(fz.Tap, fz.bound_users, st.integers(0, 30)),
        st.builds(fz.Media, fz.bound_users, st.sampled_from(("photo", "location", "document")),
                  st.sampled_from((None, "建议修一下这里的路灯，晚上太黑了不安全"))),
    ), min_size=10, max_size=30)
    harness = _fuzz(tmp_path, migrated_template, steps, opening=fz.OPENERS)
    assert harness.report.violations == []
    assert harness.report.kinds["press:button"] >= 40
