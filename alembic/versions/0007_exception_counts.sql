-- Per-tenant exception counts kept at write time, so the supervisor's common aggregate
-- (`exceptionStats` grouped by severity and status, or by domain and type) reads a few hundred
-- counter rows instead of scanning the tenant's exceptions: its cost no longer grows with the tenant.
--
-- One row per (tenant, domain, type, severity, status) ever seen: the dimensions of the stats'
-- `GroupBy` that are plain, low-cardinality columns and that the common filters name. `owner`,
-- `source_system` and creation times are left to the scan: owners change with every assignment and
-- multiply the rows; a time bucket needs the rows themselves. A row that falls to 0 stays (the set of
-- rows is bounded by the combinations a tenant has used); readers skip zero counts.
--
-- Maintained by triggers on `exception`, in the writer's transaction, as the schema owner: the app
-- role can read its tenant's counters but never write them, so they cannot be made to disagree with
-- the rows. INSERT and DELETE are counted per statement over the transition table (a COPY of 50,000
-- rows is one grouped upsert, not 50,000); UPDATE per row, only when a counted column changes (a
-- status transition moves one count from the old key to the new one; an update of anything else
-- does not fire).
--
-- Contention. A counter row is updated by every write of its key and stays locked until the writer
-- commits, so two writers of one tenant could wait on each other; worse, an ingest locks a counter and
-- then the change log's head (its ExceptionCreated event), while a transition locks the head (its
-- event) and then a counter: opposite orders, a deadlock. The counting triggers therefore take the
-- tenant's `change_log_head` lock first (0005_change_log.sql). Every write that changes a counted
-- column also appends a timeline event in the same transaction, which takes that lock until commit
-- anyway, so this adds no new waiting: it only takes the same lock a statement earlier. (Locks are
-- then always taken as: exception row, change-log head, counters, hash chain.) Without this lock
-- the 8-writer test of tests/repositories/test_exception_counts.py deadlocked in 3 runs of 3; with it,
-- it passes. A delta table (+1/-1 rows, summed on read, compacted by a job) would avoid the counter
-- lock but not the head lock the same transactions take, would make the read grow with the writes
-- until compacted, and needs that job. Measured (bench/counter_writes.py, 8 writers on one tenant,
-- counters on and off alternately): no difference distinguishable from the noise of a shared
-- 2-core machine (docs/performance.md, "Aggregates from write-time counters").
--
-- The triggers are created before the backfill, in the migration's transaction: CREATE TRIGGER
-- locks out writers of `exception` until the commit, so no write falls between the two.

CREATE TABLE exception_count (
    tenant_id varchar(64)        NOT NULL,
    domain    varchar(100)       NOT NULL,
    type      varchar(100)       NOT NULL,
    severity  exception_severity NOT NULL,
    status    exception_status   NOT NULL,
    count     bigint             NOT NULL,
    CONSTRAINT pk_exception_count PRIMARY KEY (tenant_id, domain, type, severity, status),
    CONSTRAINT ck_exception_count_count_not_negative CHECK (count >= 0)
);

ALTER TABLE exception_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY exception_count_tenant_read ON exception_count FOR SELECT TO sentinai_app
    USING (tenant_id = sentinai_current_tenant());
GRANT SELECT ON exception_count TO sentinai_app;

-- The lock every counting trigger takes before touching a tenant's counters (see the header).
CREATE FUNCTION sentinai_lock_tenant_writes(scope text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO change_log_head (tenant_id, position) VALUES (scope, 0) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM change_log_head h WHERE h.tenant_id = scope FOR UPDATE;
END
$$;

-- Statement-level: `changed` holds the inserted rows (counted up) or the deleted ones (down).
-- A deleted row's counter exists, so it is updated in place: an upsert of a negative count would
-- fail the CHECK, which PostgreSQL tests on the proposed row before it looks for the conflict.
CREATE FUNCTION sentinai_count_exceptions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    scope text;
BEGIN
    FOR scope IN SELECT DISTINCT c.tenant_id FROM changed c ORDER BY 1 LOOP
        PERFORM sentinai_lock_tenant_writes(scope);
        IF TG_OP = 'INSERT' THEN
            INSERT INTO exception_count AS n (tenant_id, domain, type, severity, status, count)
                SELECT scope, c.domain, c.type, c.severity, c.status, count(*)
                FROM changed c WHERE c.tenant_id = scope
                GROUP BY c.domain, c.type, c.severity, c.status
            ON CONFLICT (tenant_id, domain, type, severity, status) DO UPDATE SET count = n.count + excluded.count;
        ELSE
            UPDATE exception_count n SET count = n.count - d.removed
                FROM (SELECT c.domain, c.type, c.severity, c.status, count(*) AS removed
                      FROM changed c WHERE c.tenant_id = scope
                      GROUP BY c.domain, c.type, c.severity, c.status) d
                WHERE n.tenant_id = scope
                  AND (n.domain, n.type, n.severity, n.status) = (d.domain, d.type, d.severity, d.status);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- Row-level, fired only when a counted column changed: one count moves from the old key to the new.
CREATE FUNCTION sentinai_recount_exception() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM sentinai_lock_tenant_writes(NEW.tenant_id);
    UPDATE exception_count n SET count = n.count - 1
        WHERE (n.tenant_id, n.domain, n.type, n.severity, n.status)
            = (OLD.tenant_id, OLD.domain, OLD.type, OLD.severity, OLD.status);
    INSERT INTO exception_count AS n (tenant_id, domain, type, severity, status, count)
        VALUES (NEW.tenant_id, NEW.domain, NEW.type, NEW.severity, NEW.status, 1)
    ON CONFLICT (tenant_id, domain, type, severity, status) DO UPDATE SET count = n.count + 1;
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row triggers: the counters are emptied with the table.
CREATE FUNCTION sentinai_forget_exception_counts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    DELETE FROM exception_count;
    RETURN NULL;
END
$$;

CREATE TRIGGER exception_count_insert AFTER INSERT ON exception
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sentinai_count_exceptions();
CREATE TRIGGER exception_count_delete AFTER DELETE ON exception
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sentinai_count_exceptions();
-- tenant_id is part of the primary key and never changes (RLS's WITH CHECK and the foreign keys
-- hold it), so the old and the new key share one tenant and one lock.
CREATE TRIGGER exception_count_update AFTER UPDATE OF domain, type, severity, status ON exception
    FOR EACH ROW
    WHEN ((OLD.domain, OLD.type, OLD.severity, OLD.status) IS DISTINCT FROM (NEW.domain, NEW.type, NEW.severity, NEW.status))
    EXECUTE FUNCTION sentinai_recount_exception();
CREATE TRIGGER exception_count_truncate AFTER TRUNCATE ON exception
    FOR EACH STATEMENT EXECUTE FUNCTION sentinai_forget_exception_counts();

-- The exceptions written before this revision.
INSERT INTO exception_count (tenant_id, domain, type, severity, status, count)
    SELECT tenant_id, domain, type, severity, status, count(*)
    FROM exception GROUP BY tenant_id, domain, type, severity, status;
