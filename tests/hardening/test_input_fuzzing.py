"""Every tenant mutation and every read argument, fuzzed with plausible and hostile values.

For each generated request: no HTTP 5xx, a JSON body, no INTERNAL error anywhere. A mutation that
fails wrote nothing (the tenant's rows are byte for byte what they were); a mutation that
succeeds leaves a tenant every read still answers; an idempotent one changes nothing when sent
again. A VALIDATION_FAILED request error names its field. Hypothesis drives the examples (the
profile's fixed seed, shrinking on failure); what they found is in test_fuzzer_findings.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sentinai.api.endpoint import MAX_BODY_BYTES
from sentinai.db.models import ApiKeyRole
from tests.hardening.fuzzed_tenant import FuzzedTenant
from tests.hardening.fuzzing import (
    PLATFORM_MUTATIONS,
    TALLIES,
    Tally,
    Target,
    encode,
    exception_argument_fields,
    failed,
    internal_errors,
    mutation_targets,
    open_server_bug,
    outcome,
    platform_admin_mutations,
    read_targets,
    replays_are_no_ops,
    send,
)
from tests.hardening.hostile import InputValues

MUTATION_EXAMPLES = 800
READ_EXAMPLES = 800
MUTATIONS = mutation_targets()
READS = read_targets()
WRITERS = st.sampled_from([ApiKeyRole.ADMIN] * 5 + [ApiKeyRole.OPERATOR, ApiKeyRole.AGENT, ApiKeyRole.VIEWER])
READERS = st.sampled_from([ApiKeyRole.VIEWER, ApiKeyRole.ADMIN])

READ_BACK = """query ReadBack($id: String!) {
  exception(exceptionId: $id) {
    exceptionId domain type severity status sourceSystem entity amount slaDeadline owner currentStepOrder summary
    attributes enrichedContext rcaHypothesis resolvedAt domainPackVersion policyPackVersion createdAt updatedAt
    sla { deadline remaining state breachedAt }
    events(first: 5, order: NEWEST_FIRST) {
      totalCount nodes { eventId eventType actorType actorId payload stateChange }
    }
    currentPlaybook { playbookId name version conditions steps { stepOrder name actionType params tool { config } } }
    currentStep { stepOrder name }
    remediationPlans { planId rootCause confidence actionParams riskLevel status decisionNote outcomeNote executedAt }
    similar(first: 3) { score timeToResolve remediations reasons { kind detail contribution } }
    entityHistory(first: 3) { totalCount nodes { exceptionId } }
    policyPack { version pack }
  }
  exceptions(first: 5, orderBy: SLA_DEADLINE) { totalCount nodes { exceptionId amount sla { state remaining } } }
  slaBreaches(first: 5) { totalCount }
  exceptionStats(groupBy: [OWNER], bucket: DAY) {
    key { owner bucketStart } count slaAtRiskCount p90TimeToResolve totalAmount
  }
  policyPack { version pack }
  auditLog(first: 5) { nodes { component event actor details } }
  tools(first: 5) { nodes { name description config secretKeys } }
  playbooks(first: 5) { nodes { name description conditions steps { name actionType params } } }
  apiKeys(includeRevoked: true) { name role revokedAt }
}"""
"""What a client reads after a write: a write the API accepted must not break any of it."""


@st.composite
def requests(draw: st.DrawFn, targets: list[Target], values: InputValues) -> tuple[Target, dict, bytes]:
    """A target, its drawn argument values, and the body sending them (some arguments inline)."""
    target = draw(st.sampled_from(targets), label="target")
    drawn = draw(values.arguments(target.arguments), label="arguments")
    inline = draw(st.frozensets(st.sampled_from(sorted(target.arguments))), label="inline")
    assume(open_server_bug(drawn) is None)
    body = encode(*target.request(drawn, inline))
    assume(len(body) <= MAX_BODY_BYTES)  # a larger body is refused before GraphQL runs
    return target, drawn, body


def test_the_fuzzers_leave_out_exactly_the_platform_admin_mutations():
    assert platform_admin_mutations() == PLATFORM_MUTATIONS


def test_reads_through_an_exception_cover_every_argument_of_exception():
    fuzzed = {target.field for target in READS if target.name.startswith("Exception.")}

    assert fuzzed == exception_argument_fields()


def test_no_generated_mutation_errs_writes_half_or_writes_again_on_replay(run, gql, fuzzed, capsys):
    tally = TALLIES["mutations"] = Tally()
    values = InputValues(fuzzed.pools)
    untouched = run(fuzzed.snapshot(fuzzed.b.tenant_id))

    @settings(max_examples=MUTATION_EXAMPLES, deadline=None)
    @given(request=requests(MUTATIONS, values), role=WRITERS)
    def example(request, role):
        target, drawn, body = request
        tally.examples += 1
        tally.fields[target.name] += 1
        run(_mutate(gql, fuzzed, tally, target, drawn, body, fuzzed.key(role)))

    example()

    with capsys.disabled():
        print(tally.line("mutations", len(MUTATIONS)))
    assert set(tally.fields) == {target.name for target in MUTATIONS}
    assert run(fuzzed.snapshot(fuzzed.b.tenant_id)) == untouched, "tenant A's writes changed tenant B"


async def _mutate(gql, fuzzed: FuzzedTenant, tally: Tally, target: Target, drawn: dict, body: bytes, key: str):
    """Send once. A failure must leave every row as it was; a success must leave a tenant that
    reads back without error, and, when the mutation is idempotent, be a no-op when sent again."""
    before = await fuzzed.snapshot()
    answer = await _send(gql, tally, key, body, target.field)
    if failed(answer, target.field):
        assert await fuzzed.snapshot() == before, f"a failed {target.field} wrote: {answer}"
        return
    await _read_back(gql, fuzzed, tally, drawn)
    if replays_are_no_ops(target.field, drawn):
        after = await fuzzed.snapshot()
        await _send(gql, tally, key, body, target.field, "replayed ")
        assert await fuzzed.snapshot() == after, f"a replayed {target.field} wrote"


async def _send(gql, tally: Tally, key: str, body: bytes, field: str, label: str = "") -> dict[str, Any]:
    status, answer = await send(gql, key, body)
    tally.record(status, answer, label + outcome(answer, field))
    assert internal_errors(answer) == [], answer
    return answer


async def _read_back(gql, fuzzed: FuzzedTenant, tally: Tally, drawn: dict) -> None:
    written = drawn.get("input", {}).get("exceptionId") if isinstance(drawn.get("input"), dict) else None
    exception_id = written.strip() if isinstance(written, str) else "FZ-1"
    status, answer = await send(gql, fuzzed.a.admin, encode(READ_BACK, {"id": exception_id}))
    tally.record(status, answer, "read back")
    assert "errors" not in answer, answer


def test_no_generated_read_argument_errs_or_refuses_without_naming_the_field(run, gql, fuzzed, capsys):
    tally = TALLIES["reads"] = Tally()
    values = InputValues(fuzzed.pools)
    before = run(fuzzed.snapshot())

    @settings(max_examples=READ_EXAMPLES, deadline=None)
    @given(request=requests(READS, values), role=READERS)
    def example(request, role):
        target, _, body = request
        tally.examples += 1
        tally.fields[target.name] += 1
        status, answer = run(send(gql, fuzzed.key(role), body))
        tally.record(status, answer, outcome(answer, target.path[0][0]))
        assert internal_errors(answer) == [], answer
        assert [error for error in answer.get("errors", []) if _unnamed_refusal(error)] == [], answer

    example()

    with capsys.disabled():
        print(tally.line("read arguments", len(READS)))
    assert set(tally.fields) == {target.name for target in READS}
    assert run(fuzzed.snapshot()) == before, "a read wrote"


def _unnamed_refusal(error: dict) -> bool:
    extensions = error.get("extensions", {})
    return extensions.get("code") == "VALIDATION_FAILED" and not extensions.get("field")
