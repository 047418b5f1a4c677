-- SentinAI system of record: tables, keys, indexes.
-- Roles, grants, row-level security and append-only triggers are in 0001_security.sql.

CREATE TYPE tenant_status AS ENUM ('active', 'suspended', 'archived');
CREATE TYPE exception_severity AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE exception_status AS ENUM ('open', 'analyzing', 'escalated', 'resolved');
CREATE TYPE actor_type AS ENUM ('agent', 'user', 'system');
CREATE TYPE tool_type AS ENUM ('webhook', 'rest', 'email', 'workflow');
CREATE TYPE risk_level AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE remediation_plan_status AS ENUM ('pending', 'approved', 'rejected', 'executed', 'failed');
CREATE TYPE api_key_role AS ENUM ('viewer', 'operator', 'agent', 'admin');

CREATE TABLE tenant (
    tenant_id  varchar(64)   NOT NULL,
    name       varchar(200)  NOT NULL,
    status     tenant_status NOT NULL DEFAULT 'active',
    created_at timestamptz   NOT NULL DEFAULT now(),
    updated_at timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT pk_tenant PRIMARY KEY (tenant_id),
    CONSTRAINT ck_tenant_tenant_id_format CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    CONSTRAINT ck_tenant_name_not_blank CHECK (length(btrim(name)) > 0)
);

CREATE TABLE domain_pack_version (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    domain       varchar(100) NOT NULL,
    version      integer      NOT NULL,
    pack_json    jsonb        NOT NULL,
    published_by varchar(200) NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_domain_pack_version PRIMARY KEY (id),
    CONSTRAINT uq_domain_pack_version_domain_version UNIQUE (domain, version),
    CONSTRAINT ck_domain_pack_version_version_positive CHECK (version > 0),
    CONSTRAINT ck_domain_pack_version_domain_not_blank CHECK (length(btrim(domain)) > 0)
);

CREATE TABLE tenant_policy_pack_version (
    tenant_id    varchar(64)  NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    version      integer      NOT NULL,
    pack_json    jsonb        NOT NULL,
    published_by varchar(200) NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_tenant_policy_pack_version PRIMARY KEY (tenant_id, id),
    CONSTRAINT uq_tenant_policy_pack_version_tenant_id_version UNIQUE (tenant_id, version),
    CONSTRAINT ck_tenant_policy_pack_version_version_positive CHECK (version > 0),
    CONSTRAINT fk_tenant_policy_pack_version_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE playbook (
    tenant_id   varchar(64)  NOT NULL,
    playbook_id bigint GENERATED ALWAYS AS IDENTITY,
    name        varchar(200) NOT NULL,
    version     integer      NOT NULL,
    description text,
    conditions  jsonb        NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_playbook PRIMARY KEY (tenant_id, playbook_id),
    CONSTRAINT uq_playbook_tenant_id_name_version UNIQUE (tenant_id, name, version),
    CONSTRAINT ck_playbook_version_positive CHECK (version > 0),
    CONSTRAINT ck_playbook_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT fk_playbook_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE tool_definition (
    tool_id       bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id     varchar(64),
    name          varchar(200) NOT NULL,
    type          tool_type    NOT NULL,
    description   text,
    config        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    secret_config jsonb        NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_tool_definition PRIMARY KEY (tool_id),
    CONSTRAINT ck_tool_definition_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT fk_tool_definition_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX uq_tool_definition_tenant_id_name ON tool_definition (tenant_id, name) NULLS NOT DISTINCT;

CREATE TABLE playbook_step (
    tenant_id   varchar(64)  NOT NULL,
    step_id     bigint GENERATED ALWAYS AS IDENTITY,
    playbook_id bigint       NOT NULL,
    step_order  integer      NOT NULL,
    name        varchar(200) NOT NULL,
    action_type varchar(100) NOT NULL,
    params      jsonb        NOT NULL DEFAULT '{}'::jsonb,
    tool_id     bigint,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_playbook_step PRIMARY KEY (tenant_id, step_id),
    CONSTRAINT uq_playbook_step_tenant_id_playbook_id_step_order UNIQUE (tenant_id, playbook_id, step_order),
    CONSTRAINT ck_playbook_step_step_order_positive CHECK (step_order > 0),
    CONSTRAINT ck_playbook_step_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT fk_playbook_step_tenant_id_playbook_id_playbook FOREIGN KEY (tenant_id, playbook_id)
        REFERENCES playbook (tenant_id, playbook_id) ON DELETE CASCADE,
    CONSTRAINT fk_playbook_step_tool_id_tool_definition FOREIGN KEY (tool_id)
        REFERENCES tool_definition (tool_id) ON DELETE RESTRICT
);
CREATE INDEX ix_playbook_step_tool_id ON playbook_step (tool_id);

CREATE TABLE exception (
    tenant_id           varchar(64)        NOT NULL,
    exception_id        varchar(128)       NOT NULL,
    domain              varchar(100)       NOT NULL,
    type                varchar(100)       NOT NULL,
    severity            exception_severity NOT NULL,
    status              exception_status   NOT NULL,
    source_system       varchar(100)       NOT NULL,
    entity              varchar(200)       NOT NULL,
    amount              numeric(18, 2),
    sla_deadline        timestamptz,
    owner               varchar(200),
    current_playbook_id bigint,
    current_step        integer,
    summary             text,
    attributes          jsonb              NOT NULL DEFAULT '{}'::jsonb,
    enriched_context    jsonb              NOT NULL DEFAULT '{}'::jsonb,
    rca_hypothesis      text,
    resolved_at         timestamptz,
    domain_pack_version integer,
    policy_pack_version integer,
    created_at          timestamptz        NOT NULL DEFAULT now(),
    updated_at          timestamptz        NOT NULL DEFAULT now(),
    CONSTRAINT pk_exception PRIMARY KEY (tenant_id, exception_id),
    CONSTRAINT ck_exception_exception_id_not_blank CHECK (length(btrim(exception_id)) > 0),
    CONSTRAINT ck_exception_current_step_positive CHECK (current_step IS NULL OR current_step > 0),
    CONSTRAINT ck_exception_step_needs_playbook CHECK (current_step IS NULL OR current_playbook_id IS NOT NULL),
    CONSTRAINT ck_exception_resolved_at_matches_status CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CONSTRAINT fk_exception_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT,
    CONSTRAINT fk_exception_tenant_id_current_playbook_id_playbook FOREIGN KEY (tenant_id, current_playbook_id)
        REFERENCES playbook (tenant_id, playbook_id) ON DELETE RESTRICT
);
CREATE INDEX ix_exception_tenant_id_domain_created_at ON exception (tenant_id, domain, created_at);
CREATE INDEX ix_exception_tenant_id_status_severity ON exception (tenant_id, status, severity);
CREATE INDEX ix_exception_tenant_id_created_at_exception_id ON exception (tenant_id, created_at, exception_id);
CREATE INDEX ix_exception_tenant_id_entity_created_at ON exception (tenant_id, entity, created_at);
CREATE INDEX ix_exception_tenant_id_owner ON exception (tenant_id, owner);
CREATE INDEX ix_exception_tenant_id_current_playbook_id ON exception (tenant_id, current_playbook_id);
CREATE INDEX ix_exception_tenant_id_sla_deadline ON exception (tenant_id, sla_deadline, exception_id)
    WHERE sla_deadline IS NOT NULL;

CREATE TABLE exception_event (
    tenant_id    varchar(64)  NOT NULL,
    event_id     uuid         NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    exception_id varchar(128) NOT NULL,
    event_type   varchar(100) NOT NULL,
    actor_type   actor_type   NOT NULL,
    actor_id     varchar(200),
    payload      jsonb        NOT NULL DEFAULT '{}'::jsonb,
    -- clock_timestamp(): events written in one transaction keep their real order in time.
    created_at   timestamptz  NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_exception_event PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT ck_exception_event_event_type_not_blank CHECK (length(btrim(event_type)) > 0),
    CONSTRAINT fk_exception_event_tenant_id_exception_id_exception FOREIGN KEY (tenant_id, exception_id)
        REFERENCES exception (tenant_id, exception_id) ON DELETE RESTRICT
);
CREATE INDEX ix_exception_event_tenant_id_exception_id_created_at
    ON exception_event (tenant_id, exception_id, created_at, seq);
CREATE INDEX ix_exception_event_tenant_id_created_at ON exception_event (tenant_id, created_at);

CREATE TABLE remediation_plan (
    tenant_id         varchar(64)             NOT NULL,
    plan_id           bigint GENERATED ALWAYS AS IDENTITY,
    exception_id      varchar(128)            NOT NULL,
    root_cause        text                    NOT NULL,
    confidence        numeric(4, 3)           NOT NULL,
    action_type       varchar(100)            NOT NULL,
    action_params     jsonb                   NOT NULL DEFAULT '{}'::jsonb,
    risk_level        risk_level              NOT NULL,
    requires_approval boolean                 NOT NULL,
    status            remediation_plan_status NOT NULL DEFAULT 'pending',
    proposed_by       varchar(200)            NOT NULL,
    decided_by        varchar(200),
    decided_at        timestamptz,
    decision_note     text,
    outcome_note      text,
    executed_at       timestamptz,
    created_at        timestamptz             NOT NULL DEFAULT now(),
    updated_at        timestamptz             NOT NULL DEFAULT now(),
    CONSTRAINT pk_remediation_plan PRIMARY KEY (tenant_id, plan_id),
    CONSTRAINT ck_remediation_plan_confidence_in_unit_range CHECK (confidence >= 0 AND confidence <= 1),
    CONSTRAINT ck_remediation_plan_decider_is_not_proposer CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CONSTRAINT ck_remediation_plan_decision_recorded
        CHECK (status = 'pending' OR NOT requires_approval OR decided_by IS NOT NULL),
    CONSTRAINT ck_remediation_plan_root_cause_not_blank CHECK (length(btrim(root_cause)) > 0),
    CONSTRAINT fk_remediation_plan_tenant_id_exception_id_exception FOREIGN KEY (tenant_id, exception_id)
        REFERENCES exception (tenant_id, exception_id) ON DELETE RESTRICT
);
CREATE INDEX ix_remediation_plan_tenant_id_exception_id ON remediation_plan (tenant_id, exception_id, created_at);

CREATE TABLE audit_log (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id   varchar(64),
    occurred_at timestamptz  NOT NULL DEFAULT now(),
    component   varchar(100) NOT NULL,
    event       varchar(100) NOT NULL,
    actor       varchar(200) NOT NULL,
    details     jsonb        NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT pk_audit_log PRIMARY KEY (audit_id),
    CONSTRAINT fk_audit_log_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);
CREATE INDEX ix_audit_log_tenant_id_occurred_at ON audit_log (tenant_id, occurred_at, audit_id);

CREATE TABLE api_key (
    tenant_id  varchar(64)  NOT NULL,
    key_id     uuid         NOT NULL DEFAULT gen_random_uuid(),
    name       varchar(200) NOT NULL,
    role       api_key_role NOT NULL,
    key_prefix varchar(16)  NOT NULL,
    key_hash   bytea        NOT NULL,
    created_by varchar(200) NOT NULL,
    created_at timestamptz  NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT pk_api_key PRIMARY KEY (tenant_id, key_id),
    CONSTRAINT uq_api_key_tenant_id_key_hash UNIQUE (tenant_id, key_hash),
    CONSTRAINT ck_api_key_key_hash_is_sha256 CHECK (octet_length(key_hash) = 32),
    CONSTRAINT fk_api_key_tenant_id_tenant FOREIGN KEY (tenant_id)
        REFERENCES tenant (tenant_id) ON DELETE RESTRICT
);
CREATE INDEX ix_api_key_key_hash ON api_key (key_hash);
