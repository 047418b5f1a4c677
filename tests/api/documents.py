"""GraphQL documents the API tests send, written as a client would."""

ERRORS = "... on MutationError { code message } ... on ValidationFailed { field } ... on InvalidTransition { fromState toState }"

INGEST = (
    """
mutation Ingest($input: IngestExceptionInput!) {
  ingestException(input: $input) {
    __typename
    ... on IngestExceptionSuccess { outcome changedFields exception { id exceptionId severity status amount domainPackVersion policyPackVersion } }
    %s
  }
}"""
    % ERRORS
)

RECORD = (
    """
mutation Record($input: RecordExceptionEventInput!) {
  recordExceptionEvent(input: $input) {
    __typename
    ... on ExceptionEventRecorded { replayed event { eventId eventType actorType actorId payload } exception { status severity owner currentStepOrder } }
    %s
  }
}"""
    % ERRORS
)

CHANGE = (
    """
mutation Change($assign: AssignExceptionInput!) {
  assignException(input: $assign) {
    __typename
    ... on ExceptionEventRecorded { replayed event { eventType payload } exception { owner } }
    %s
  }
}"""
    % ERRORS
)

TRANSITION = (
    """
mutation Transition($input: TransitionExceptionInput!) {
  transitionException(input: $input) {
    __typename
    ... on ExceptionEventRecorded { event { eventType payload } exception { status resolvedAt } }
    %s
  }
}"""
    % ERRORS
)

ATTACH = (
    """
mutation Attach($input: AttachPlaybookInput!) {
  attachPlaybook(input: $input) {
    __typename
    ... on ExceptionEventRecorded { exception { currentStepOrder currentPlaybook { playbookId } currentStep { stepOrder name } } }
    %s
  }
}"""
    % ERRORS
)

ADVANCE = (
    """
mutation Advance($input: AdvancePlaybookStepInput!) {
  advancePlaybookStep(input: $input) {
    __typename
    ... on ExceptionEventRecorded { exception { currentStepOrder currentStep { name } } }
    %s
  }
}"""
    % ERRORS
)

CREATE_PLAYBOOK = (
    """
mutation CreatePlaybook($input: CreatePlaybookInput!) {
  createPlaybook(input: $input) {
    __typename
    ... on CreatePlaybookSuccess { playbook { id playbookId name version steps { stepOrder name actionType params tool { name } } } }
    %s
  }
}"""
    % ERRORS
)

REGISTER_TOOL = (
    """
mutation RegisterTool($input: RegisterToolInput!) {
  registerTool(input: $input) {
    __typename
    ... on RegisterToolSuccess { tool { id toolId name type config secretKeys isGlobal } }
    %s
  }
}"""
    % ERRORS
)

PROPOSE = (
    """
mutation Propose($input: ProposeRemediationPlanInput!) {
  proposeRemediationPlan(input: $input) {
    __typename
    ... on RemediationPlanSuccess { plan { id planId status proposedBy decidedBy confidence } }
    %s
  }
}"""
    % ERRORS
)

APPROVE = (
    """
mutation Approve($input: DecideRemediationPlanInput!) {
  approveRemediationPlan(input: $input) {
    __typename
    ... on RemediationPlanSuccess { plan { planId status decidedBy decisionNote } }
    %s
  }
}"""
    % ERRORS
)

REJECT = APPROVE.replace("approveRemediationPlan", "rejectRemediationPlan").replace("Approve(", "Reject(")

OUTCOME = (
    """
mutation Outcome($input: RecordRemediationOutcomeInput!) {
  recordRemediationOutcome(input: $input) {
    __typename
    ... on RemediationPlanSuccess { plan { planId status outcomeNote executedAt } }
    %s
  }
}"""
    % ERRORS
)

PUBLISH_POLICY = (
    """
mutation PublishPolicy($input: PublishPolicyPackInput!) {
  publishPolicyPack(input: $input) { __typename ... on PublishPolicyPackSuccess { policyPack { version pack } } %s }
}"""
    % ERRORS
)

PUBLISH_DOMAIN = (
    """
mutation PublishDomain($input: PublishDomainPackInput!) {
  publishDomainPack(input: $input) { __typename ... on PublishDomainPackSuccess { domainPack { domain version pack } } %s }
}"""
    % ERRORS
)

CREATE_TENANT = (
    """
mutation CreateTenant($input: CreateTenantInput!) {
  createTenant(input: $input) { __typename ... on TenantSuccess { adminKey tenant { tenantId name status } } %s }
}"""
    % ERRORS
)

SET_TENANT_STATUS = (
    """
mutation SetStatus($input: SetTenantStatusInput!) {
  setTenantStatus(input: $input) { __typename ... on TenantSuccess { tenant { tenantId status } } %s }
}"""
    % ERRORS
)

CREATE_KEY = (
    """
mutation CreateKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { __typename ... on ApiKeySuccess { secret apiKey { keyId name role revokedAt expiresAt } } %s }
}"""
    % ERRORS
)

REVOKE_KEY = (
    """
mutation RevokeKey($input: RevokeApiKeyInput!) {
  revokeApiKey(input: $input) { __typename ... on ApiKeySuccess { apiKey { keyId revokedAt } } %s }
}"""
    % ERRORS
)

DETAIL = """
query Detail($id: String!, $first: Int) {
  exception(exceptionId: $id) {
    id exceptionId domain type severity status sourceSystem entity amount slaDeadline owner summary attributes
    createdAt updatedAt currentStepOrder
    currentPlaybook { name version steps { stepOrder name actionType params tool { name } } }
    currentStep { stepOrder name }
    events(first: $first) { totalCount edges { cursor node { eventId eventType actorType payload } } pageInfo { hasNextPage endCursor } }
    remediationPlans { planId status }
  }
}"""

LIST = """
query List($filter: ExceptionFilter, $order: ExceptionOrder, $first: Int, $after: String) {
  exceptions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    nodes { exceptionId severity status createdAt slaDeadline }
    edges { cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

INGEST_MANY = """
mutation IngestMany($input: IngestExceptionsInput!) {
  ingestExceptions(input: $input) {
    __typename
    ... on IngestExceptionsSuccess {
      results {
        __typename
        ... on IngestExceptionSuccess { outcome changedFields exception { exceptionId severity status amount } }
        %s
      }
    }
    %s
  }
}""" % (ERRORS, ERRORS)

RECORD_MANY = """
mutation RecordMany($input: RecordExceptionEventsInput!) {
  recordExceptionEvents(input: $input) {
    __typename
    ... on ExceptionEventsRecorded {
      results {
        __typename
        ... on ExceptionEventRecorded { replayed event { eventId eventType payload } exception { exceptionId status severity } }
        %s
      }
    }
    %s
  }
}""" % (ERRORS, ERRORS)
