-- Roles, grants, row-level security and append-only history.
--
-- Three NOLOGIN roles; the service's login role is a member of each WITH INHERIT FALSE,
-- so it holds no privilege until a transaction switches role with set_config('role', …, true):
--   sentinai_app       tenant requests; sees only the rows of app.tenant_id (RLS, FORCEd)
--   sentinai_platform  the platform-admin path: tenants, keys, domain packs, global tools
--   sentinai_auth      API-key lookups before any tenant is known: SELECT on two tables
-- Roles are cluster-wide: created if missing, never dropped by a downgrade.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sentinai_app') THEN
        CREATE ROLE sentinai_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sentinai_platform') THEN
        CREATE ROLE sentinai_platform NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sentinai_auth') THEN
        CREATE ROLE sentinai_auth NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO sentinai_app, sentinai_platform, sentinai_auth;

-- The tenant of the current transaction; NULL when unset. A pooled connection returns ''
-- after any transaction that set it locally, hence NULLIF.
CREATE FUNCTION sentinai_current_tenant() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '') $$;

-- ---------------------------------------------------------------- append-only history
CREATE FUNCTION sentinai_refuse_history_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER exception_event_append_only BEFORE UPDATE OR DELETE ON exception_event
    FOR EACH ROW EXECUTE FUNCTION sentinai_refuse_history_change();
CREATE TRIGGER exception_event_no_truncate BEFORE TRUNCATE ON exception_event
    FOR EACH STATEMENT EXECUTE FUNCTION sentinai_refuse_history_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION sentinai_refuse_history_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION sentinai_refuse_history_change();

-- ---------------------------------------------------------------- privileges
GRANT SELECT ON tenant TO sentinai_app, sentinai_auth;
GRANT SELECT, INSERT, UPDATE ON tenant TO sentinai_platform;

GRANT SELECT ON domain_pack_version TO sentinai_app, sentinai_platform;
GRANT INSERT ON domain_pack_version TO sentinai_platform;

GRANT SELECT, INSERT ON tenant_policy_pack_version TO sentinai_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON playbook, playbook_step, exception, remediation_plan TO sentinai_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tool_definition TO sentinai_app, sentinai_platform;
GRANT SELECT, INSERT ON exception_event TO sentinai_app;
GRANT SELECT, INSERT ON audit_log TO sentinai_app, sentinai_platform;
GRANT SELECT, INSERT ON api_key TO sentinai_app, sentinai_platform;
GRANT UPDATE (revoked_at) ON api_key TO sentinai_app, sentinai_platform;
GRANT SELECT ON api_key TO sentinai_auth;

-- ---------------------------------------------------------------- row-level security
ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenant FOR SELECT TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
CREATE POLICY tenant_platform ON tenant TO sentinai_platform USING (true) WITH CHECK (true);
CREATE POLICY tenant_auth ON tenant FOR SELECT TO sentinai_auth USING (true);

DO $$
DECLARE
    owned text;
BEGIN
    FOREACH owned IN ARRAY ARRAY[
        'tenant_policy_pack_version', 'playbook', 'playbook_step', 'exception',
        'exception_event', 'remediation_plan', 'api_key'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', owned);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', owned);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO sentinai_app '
            'USING (tenant_id = sentinai_current_tenant()) '
            'WITH CHECK (tenant_id = sentinai_current_tenant())', owned);
    END LOOP;
END
$$;
CREATE POLICY api_key_platform ON api_key TO sentinai_platform USING (true) WITH CHECK (true);
CREATE POLICY api_key_auth ON api_key FOR SELECT TO sentinai_auth USING (true);

-- Tools: a tenant reads its own and the global ones, and writes only its own;
-- the platform path writes only global ones.
ALTER TABLE tool_definition ENABLE ROW LEVEL SECURITY;
ALTER TABLE tool_definition FORCE ROW LEVEL SECURITY;
CREATE POLICY tool_read ON tool_definition FOR SELECT TO sentinai_app
    USING (tenant_id IS NULL OR tenant_id = sentinai_current_tenant());
CREATE POLICY tool_insert ON tool_definition FOR INSERT TO sentinai_app
    WITH CHECK (tenant_id = sentinai_current_tenant());
CREATE POLICY tool_update ON tool_definition FOR UPDATE TO sentinai_app
    USING (tenant_id = sentinai_current_tenant()) WITH CHECK (tenant_id = sentinai_current_tenant());
CREATE POLICY tool_delete ON tool_definition FOR DELETE TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
CREATE POLICY tool_platform ON tool_definition TO sentinai_platform
    USING (tenant_id IS NULL) WITH CHECK (tenant_id IS NULL);

-- Audit: a tenant reads and writes its own rows; the platform writes any (NULL = platform scope).
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_tenant_read ON audit_log FOR SELECT TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
CREATE POLICY audit_tenant_write ON audit_log FOR INSERT TO sentinai_app
    WITH CHECK (tenant_id = sentinai_current_tenant());
CREATE POLICY audit_platform_read ON audit_log FOR SELECT TO sentinai_platform USING (true);
CREATE POLICY audit_platform_write ON audit_log FOR INSERT TO sentinai_platform WITH CHECK (true);

-- Readiness probes compare the schema revision through the least-privileged role.
GRANT SELECT ON alembic_version TO sentinai_auth;
