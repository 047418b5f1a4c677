"""`domain.deadlines` as a pure rule: which pack's hours decide, and what stored packs that
predate the publication check (anything at all) are read as."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentinai.domain.deadlines import Deadline, PackHours, SlaPacks, deadline_for, derived, follows_packs
from sentinai.domain.enums import Severity, SlaSource

CREATED = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _packs(policy_hours=None, domain_hours=None) -> SlaPacks:
    return SlaPacks(PackHours(3, policy_hours), PackHours(7, domain_hours))


def test_the_policy_pack_decides_a_severity_it_names_and_the_domain_pack_the_others():
    packs = _packs({"HIGH": 2}, {"HIGH": 24, "CRITICAL": 4})
    assert derived(CREATED, Severity.HIGH, packs) == Deadline(CREATED + timedelta(hours=2), SlaSource.POLICY_PACK, 3)
    assert derived(CREATED, Severity.CRITICAL, packs) == Deadline(
        CREATED + timedelta(hours=4), SlaSource.DOMAIN_PACK, 7
    )


def test_a_severity_no_pack_names_has_no_deadline():
    assert derived(CREATED, Severity.LOW, _packs({"HIGH": 2}, {"CRITICAL": 4})) == Deadline(None)


@pytest.mark.parametrize("hours", [None, "24", [24], {"HIGH": 0}, {"HIGH": -3}, {"HIGH": True}, {"HIGH": 10**9}])
def test_hours_a_stored_pack_holds_in_any_other_shape_count_as_none(hours):
    assert derived(CREATED, Severity.HIGH, _packs(hours, {"HIGH": 24})).source == SlaSource.DOMAIN_PACK


def test_a_sent_deadline_wins_and_is_never_recomputed():
    sent = CREATED + timedelta(days=2)
    deadline = deadline_for(sent, CREATED, Severity.HIGH, _packs({"HIGH": 2}))
    assert deadline == Deadline(sent, SlaSource.SOURCE)
    assert not follows_packs(deadline.at, deadline.source)
    assert not follows_packs(sent, None), "a deadline stored before sources were recorded counts as sent"
    assert follows_packs(None, None) and follows_packs(sent, SlaSource.DOMAIN_PACK)
