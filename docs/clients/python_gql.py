"""A Python client of SentinAI with `gql` (pip install "gql[httpx]").

The frontend's exception detail in one request, the way any client should write it: a named
operation, variables, a fragment, and the result union of a mutation handled by `__typename`.
`tests/api/test_client_examples.py` runs this file against the server.
"""

from __future__ import annotations

from typing import Any

from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport

DETAIL = gql(
    """
    query ExceptionDetail($exceptionId: String!) {
      exception(exceptionId: $exceptionId) {
        id exceptionId status severity summary
        sla { state remaining }
        events(first: 20) { totalCount nodes { ...TimelineEvent } pageInfo { hasNextPage endCursor } }
        currentPlaybook { name steps { stepOrder name } }
      }
    }
    fragment TimelineEvent on ExceptionEvent { eventType actorType payload createdAt }
    """
)

COMMENT = gql(
    """
    mutation Comment($input: RecordExceptionEventInput!) {
      recordExceptionEvent(input: $input) {
        __typename
        ... on ExceptionEventRecorded { replayed event { eventId } }
        ... on MutationError { code message }
        ... on ValidationFailed { field }
      }
    }
    """
)


def client(url: str, api_key: str, **httpx_options: Any) -> Client:
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/graphql-response+json"}
    return Client(transport=HTTPXAsyncTransport(url=url, headers=headers, **httpx_options))


async def exception_detail(session: Any, exception_id: str) -> dict[str, Any]:
    result = await session.execute(GraphQLRequest(DETAIL, variable_values={"exceptionId": exception_id}))
    return result["exception"]


async def comment(session: Any, exception_id: str, event_id: str, text: str) -> dict[str, Any]:
    variables = {
        "input": {
            "eventId": event_id,
            "exceptionId": exception_id,
            "eventType": "CommentAdded",
            "payload": {"text": text},
        }
    }
    result = (await session.execute(GraphQLRequest(COMMENT, variable_values=variables)))["recordExceptionEvent"]
    if result["__typename"] != "ExceptionEventRecorded":
        raise ValueError(f"{result['code']}: {result['message']}")
    return result
