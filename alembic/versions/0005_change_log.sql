-- The change log: every committed change of a tenant, in one stream whose position never skips.
--
-- Each inserted timeline event and tenant audit row gets the next position of its tenant's log,
-- taken under a lock on the tenant's `change_log_head` row that is held until the transaction
-- ends. A writer with position n therefore commits (or aborts, freeing n) before any writer can
-- take n + 1, so every snapshot sees a gap-free prefix of the positions: a reader that resumes
-- after the highest position it has seen never skips a row that commits late. (A sequence or a
-- timestamp is assigned before commit; commit order would differ from key order and a
-- "max position seen" cursor would skip — the fault of Hasura's streaming subscriptions.)
-- Timeline writes of one tenant were already serialised by the hash chain's head lock; this
-- lock is taken first (the trigger's name sorts before the chain's), so the locks of a
-- transaction are always taken in one order.

CREATE TABLE change_log_head (
    tenant_id varchar(64) NOT NULL,
    position  bigint      NOT NULL,
    CONSTRAINT pk_change_log_head PRIMARY KEY (tenant_id)
);

CREATE TABLE change_log (
    tenant_id    varchar(64)  NOT NULL,
    position     bigint       NOT NULL,
    source       varchar(32)  NOT NULL,
    row_key      text         NOT NULL,
    exception_id varchar(128),
    recorded_at  timestamptz  NOT NULL DEFAULT statement_timestamp(),
    CONSTRAINT pk_change_log PRIMARY KEY (tenant_id, position),
    CONSTRAINT ck_change_log_source CHECK (source IN ('exception_event', 'audit_log'))
);

-- A live timeline reads one exception's changes after a position.
CREATE INDEX ix_change_log_tenant_id_exception_id_position ON change_log (tenant_id, exception_id, position);

ALTER TABLE change_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY change_log_tenant_read ON change_log FOR SELECT TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
CREATE POLICY change_log_platform_read ON change_log FOR SELECT TO sentinai_platform USING (true);
GRANT SELECT ON change_log TO sentinai_app, sentinai_platform;

CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log
    FOR EACH ROW EXECUTE FUNCTION sentinai_refuse_history_change();
CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
    FOR EACH STATEMENT EXECUTE FUNCTION sentinai_refuse_history_change();

-- Statement-level over the inserted rows; platform-wide audit rows (no tenant) are not logged.
-- The NOTIFY is delivered at commit only, so a listener wakes when the rows are readable.
CREATE FUNCTION sentinai_log_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    scope text;
    last bigint;
    added bigint;
BEGIN
    FOR scope IN SELECT DISTINCT i.tenant_id FROM inserted i WHERE i.tenant_id IS NOT NULL ORDER BY 1 LOOP
        INSERT INTO change_log_head (tenant_id, position) VALUES (scope, 0) ON CONFLICT DO NOTHING;
        SELECT h.position INTO last FROM change_log_head h WHERE h.tenant_id = scope FOR UPDATE;
        IF TG_TABLE_NAME = 'exception_event' THEN
            INSERT INTO change_log (tenant_id, position, source, row_key, exception_id)
                SELECT scope, last + row_number() OVER (ORDER BY i.seq), TG_TABLE_NAME, i.event_id::text, i.exception_id
                FROM inserted i WHERE i.tenant_id = scope;
        ELSE
            INSERT INTO change_log (tenant_id, position, source, row_key, exception_id)
                SELECT scope, last + row_number() OVER (ORDER BY i.audit_id), TG_TABLE_NAME, i.audit_id::text, NULL
                FROM inserted i WHERE i.tenant_id = scope;
        END IF;
        GET DIAGNOSTICS added = ROW_COUNT;
        UPDATE change_log_head h SET position = last + added WHERE h.tenant_id = scope;
        PERFORM pg_notify('sentinai_changes', scope);
    END LOOP;
    RETURN NULL;
END
$$;

-- "0_" sorts before "chain": same-event triggers fire in name order.
CREATE TRIGGER exception_event_0_change_log AFTER INSERT ON exception_event
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sentinai_log_changes();
CREATE TRIGGER audit_log_0_change_log AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sentinai_log_changes();

-- History written before this revision enters the log in the order it was written.
INSERT INTO change_log (tenant_id, position, source, row_key, exception_id, recorded_at)
    SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY at, source, ordinal),
           source, row_key, exception_id, at
    FROM (
        SELECT e.tenant_id, e.created_at AS at, 'exception_event' AS source, e.seq AS ordinal,
               e.event_id::text AS row_key, e.exception_id
        FROM exception_event e
        UNION ALL
        SELECT a.tenant_id, a.occurred_at, 'audit_log', a.audit_id, a.audit_id::text, NULL
        FROM audit_log a WHERE a.tenant_id IS NOT NULL
    ) history;
INSERT INTO change_log_head (tenant_id, position)
    SELECT tenant_id, max(position) FROM change_log GROUP BY tenant_id;
