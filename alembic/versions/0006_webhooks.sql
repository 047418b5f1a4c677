-- Outbound webhooks: tenant-registered endpoints that receive the change log, at least once.
--
-- An endpoint remembers the last position it acknowledged (`position`); the dispatcher leases
-- it (`leased_until`, so one process at a time delivers to it), posts the changes after that
-- position in order, and moves `position` only past what was acknowledged with a 2xx. Failures
-- back off (`next_attempt_at`); an endpoint failing for too long is disabled with its reason.
-- Every attempt is kept in `webhook_delivery` for the tenant to read.

CREATE TABLE webhook_endpoint (
    tenant_id       varchar(64)  NOT NULL,
    endpoint_id     bigint       GENERATED ALWAYS AS IDENTITY,
    url             text         NOT NULL,
    description     text,
    secret          text         NOT NULL,
    position        bigint       NOT NULL DEFAULT 0,
    enabled         boolean      NOT NULL DEFAULT true,
    disabled_reason text,
    failing_since   timestamptz,
    failed_attempts integer      NOT NULL DEFAULT 0,
    next_attempt_at timestamptz  NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    created_by      varchar(200) NOT NULL,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_webhook_endpoint PRIMARY KEY (tenant_id, endpoint_id),
    CONSTRAINT fk_webhook_endpoint_tenant_id_tenant FOREIGN KEY (tenant_id) REFERENCES tenant (tenant_id) ON DELETE RESTRICT,
    CONSTRAINT ck_webhook_endpoint_position_not_negative CHECK (position >= 0)
);
CREATE INDEX ix_webhook_endpoint_enabled_next_attempt_at ON webhook_endpoint (enabled, next_attempt_at);

CREATE TABLE webhook_delivery (
    tenant_id     varchar(64) NOT NULL,
    attempt_id    bigint      GENERATED ALWAYS AS IDENTITY,
    endpoint_id   bigint      NOT NULL,
    position      bigint      NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    error         text,
    duration_ms   integer     NOT NULL,
    succeeded     boolean     NOT NULL,
    CONSTRAINT pk_webhook_delivery PRIMARY KEY (tenant_id, attempt_id),
    CONSTRAINT fk_webhook_delivery_tenant_id_endpoint_id_webhook_endpoint FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES webhook_endpoint (tenant_id, endpoint_id) ON DELETE CASCADE
);
CREATE INDEX ix_webhook_delivery_tenant_id_endpoint_id_attempt_id ON webhook_delivery (tenant_id, endpoint_id, attempt_id);

DO $$
DECLARE
    owned text;
BEGIN
    FOREACH owned IN ARRAY ARRAY['webhook_endpoint', 'webhook_delivery'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', owned);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', owned);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO sentinai_app '
            'USING (tenant_id = sentinai_current_tenant()) '
            'WITH CHECK (tenant_id = sentinai_current_tenant())', owned);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoint TO sentinai_app;
GRANT SELECT, INSERT ON webhook_delivery TO sentinai_app;
-- The dispatcher finds due endpoints across tenants on the platform path; it delivers in each tenant's scope.
CREATE POLICY webhook_endpoint_platform_read ON webhook_endpoint FOR SELECT TO sentinai_platform USING (true);
GRANT SELECT ON webhook_endpoint TO sentinai_platform;
