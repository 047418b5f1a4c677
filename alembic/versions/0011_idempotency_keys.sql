-- Idempotency keys of mutations (`idempotencyKey`): one row per key and scope, written in the
-- mutation's own transaction, so a key never exists without its effect nor an effect without
-- its key. `tenant_id` is the tenant's, or NULL for the platform-admin mutations.
--
-- The first request inserts the row (ON CONFLICT DO NOTHING); a concurrent retry with the same
-- key waits on that row until the first transaction ends, then reads `result`. Only digests of
-- the key and of the request are kept; `result` names the rows the mutation answered and holds
-- its one-time secrets sealed under the key itself (services/idempotency.py).

CREATE TABLE idempotency_key (
    idempotency_id bigint      GENERATED ALWAYS AS IDENTITY,
    tenant_id      varchar(64),
    key_digest     bytea       NOT NULL,
    request_digest bytea       NOT NULL,
    result         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_idempotency_key PRIMARY KEY (idempotency_id),
    CONSTRAINT uq_idempotency_key_tenant_id_key_digest UNIQUE NULLS NOT DISTINCT (tenant_id, key_digest),
    CONSTRAINT fk_idempotency_key_tenant_id_tenant FOREIGN KEY (tenant_id) REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);
-- The opportunistic purge finds a scope's expired keys by age.
CREATE INDEX ix_idempotency_key_tenant_id_created_at ON idempotency_key (tenant_id, created_at);

-- Claim (INSERT), read back (SELECT), store the result (UPDATE of `result` only), purge (DELETE).
GRANT SELECT, INSERT, DELETE ON idempotency_key TO sentinai_app, sentinai_platform;
GRANT UPDATE (result) ON idempotency_key TO sentinai_app, sentinai_platform;

ALTER TABLE idempotency_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_key FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_key TO sentinai_app
    USING (tenant_id = sentinai_current_tenant())
    WITH CHECK (tenant_id = sentinai_current_tenant());
CREATE POLICY idempotency_key_platform ON idempotency_key TO sentinai_platform
    USING (tenant_id IS NULL)
    WITH CHECK (tenant_id IS NULL);
