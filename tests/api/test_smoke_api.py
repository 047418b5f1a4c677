import pytest

pytestmark = pytest.mark.asyncio


async def test_viewer(gql, api_a):
    data = await gql.data("{ viewer { tenant { tenantId name status } role } }", key=api_a.viewer)
    assert data["viewer"]["tenant"]["tenantId"] == api_a.tenant_id
