-- Tamper evidence: a per-tenant hash chain over the timeline and the audit log.
--
-- Every inserted history row gets a link: position n in its tenant's chain and
-- hash_n = sha256(hash_{n-1} || canonical(row)). The links are written by AFTER INSERT
-- triggers (so a replay that inserts nothing adds no link) running as the schema owner; the
-- application roles may read their own tenant's links and nothing else. Editing a row, a link,
-- or deleting either — even as a superuser bypassing the append-only triggers — breaks the
-- chain at that position, which `verify` reports.

CREATE TABLE history_chain_head (
    tenant_id varchar(64) NOT NULL,   -- '' for platform-wide audit rows
    chain     varchar(32) NOT NULL,
    length    bigint      NOT NULL,
    last_hash bytea       NOT NULL,
    CONSTRAINT pk_history_chain_head PRIMARY KEY (tenant_id, chain)
);

CREATE TABLE history_chain_link (
    tenant_id varchar(64) NOT NULL,
    chain     varchar(32) NOT NULL,
    position  bigint      NOT NULL,
    row_key   text        NOT NULL,
    row_hash  bytea       NOT NULL,
    CONSTRAINT pk_history_chain_link PRIMARY KEY (tenant_id, chain, position)
);
CREATE INDEX ix_history_chain_link_tenant_id_chain_row_key ON history_chain_link (tenant_id, chain, row_key);

ALTER TABLE history_chain_link ENABLE ROW LEVEL SECURITY;
CREATE POLICY chain_tenant_read ON history_chain_link FOR SELECT TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
CREATE POLICY chain_platform_read ON history_chain_link FOR SELECT TO sentinai_platform USING (true);
GRANT SELECT ON history_chain_link TO sentinai_app, sentinai_platform;

CREATE TRIGGER history_chain_link_append_only BEFORE UPDATE OR DELETE ON history_chain_link
    FOR EACH ROW EXECUTE FUNCTION sentinai_refuse_history_change();
CREATE TRIGGER history_chain_link_no_truncate BEFORE TRUNCATE ON history_chain_link
    FOR EACH STATEMENT EXECUTE FUNCTION sentinai_refuse_history_change();

CREATE FUNCTION sentinai_utc_text(moment timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- The bytes a row's link hashes: every column, unit-separated, NULL written as chr(30).
CREATE FUNCTION sentinai_event_canonical(e exception_event) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(concat_ws(chr(31), e.tenant_id, e.event_id::text, e.exception_id, e.event_type,
        e.actor_type::text, coalesce(e.actor_id, chr(30)), e.payload::text, e.state_change::text,
        sentinai_utc_text(e.created_at)), 'UTF8')
$$;

CREATE FUNCTION sentinai_audit_canonical(a audit_log) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(concat_ws(chr(31), a.audit_id::text, coalesce(a.tenant_id, chr(30)),
        sentinai_utc_text(a.occurred_at), a.component, a.event, a.actor, a.details::text), 'UTF8')
$$;

-- Statement-level, over the statement's inserted rows: one head lock per tenant and statement,
-- links in insertion order, so bulk loads (COPY) and single events cost the same per row.
CREATE FUNCTION sentinai_link_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    scope text;
    head history_chain_head;
    item record;
    positions bigint[];
    row_keys text[];
    hashes bytea[];
BEGIN
    FOR scope IN SELECT DISTINCT coalesce(i.tenant_id, '') FROM inserted i ORDER BY 1 LOOP
        INSERT INTO history_chain_head (tenant_id, chain, length, last_hash)
            VALUES (scope, TG_TABLE_NAME, 0, '\x'::bytea) ON CONFLICT DO NOTHING;
        SELECT * INTO head FROM history_chain_head h WHERE h.tenant_id = scope AND h.chain = TG_TABLE_NAME FOR UPDATE;
        positions := '{}'; row_keys := '{}'; hashes := '{}';
        IF TG_TABLE_NAME = 'exception_event' THEN
            FOR item IN SELECT i.event_id::text AS row_key, sentinai_event_canonical(i) AS canonical
                        FROM inserted i WHERE i.tenant_id = scope ORDER BY i.seq LOOP
                head.length := head.length + 1;
                head.last_hash := sha256(head.last_hash || item.canonical);
                positions := positions || head.length; row_keys := row_keys || item.row_key;
                hashes := hashes || head.last_hash;
            END LOOP;
        ELSE
            FOR item IN SELECT i.audit_id::text AS row_key, sentinai_audit_canonical(i) AS canonical
                        FROM inserted i WHERE coalesce(i.tenant_id, '') = scope ORDER BY i.audit_id LOOP
                head.length := head.length + 1;
                head.last_hash := sha256(head.last_hash || item.canonical);
                positions := positions || head.length; row_keys := row_keys || item.row_key;
                hashes := hashes || head.last_hash;
            END LOOP;
        END IF;
        INSERT INTO history_chain_link (tenant_id, chain, position, row_key, row_hash)
            SELECT scope, TG_TABLE_NAME, link.position, link.row_key, link.row_hash
            FROM unnest(positions, row_keys, hashes) AS link(position, row_key, row_hash);
        UPDATE history_chain_head h SET length = head.length, last_hash = head.last_hash
            WHERE h.tenant_id = scope AND h.chain = TG_TABLE_NAME;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER exception_event_chain AFTER INSERT ON exception_event
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sentinai_link_rows();
CREATE TRIGGER audit_log_chain AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sentinai_link_rows();

-- History written before this revision: link it now, in the order it was written.
DO $$
DECLARE
    scope text;
    item record;
    previous bytea;
    position bigint;
BEGIN
    FOR scope IN SELECT DISTINCT tenant_id FROM exception_event ORDER BY 1 LOOP
        previous := '\x'::bytea; position := 0;
        FOR item IN SELECT e.event_id::text AS row_key, sentinai_event_canonical(e) AS canonical
                    FROM exception_event e WHERE e.tenant_id = scope ORDER BY e.seq LOOP
            position := position + 1;
            previous := sha256(previous || item.canonical);
            INSERT INTO history_chain_link VALUES (scope, 'exception_event', position, item.row_key, previous);
        END LOOP;
        INSERT INTO history_chain_head VALUES (scope, 'exception_event', position, previous);
    END LOOP;
    FOR scope IN SELECT DISTINCT coalesce(tenant_id, '') FROM audit_log ORDER BY 1 LOOP
        previous := '\x'::bytea; position := 0;
        FOR item IN SELECT a.audit_id::text AS row_key, sentinai_audit_canonical(a) AS canonical
                    FROM audit_log a WHERE coalesce(a.tenant_id, '') = scope ORDER BY a.audit_id LOOP
            position := position + 1;
            previous := sha256(previous || item.canonical);
            INSERT INTO history_chain_link VALUES (scope, 'audit_log', position, item.row_key, previous);
        END LOOP;
        INSERT INTO history_chain_head VALUES (scope, 'audit_log', position, previous);
    END LOOP;
END
$$;

-- Fresh statistics, so verification plans a hash join over the backfilled links.
ANALYZE history_chain_link;
