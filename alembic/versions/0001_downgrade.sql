-- Reverses 0001 (tables, types, functions). Roles are cluster-wide and stay.
DROP TABLE IF EXISTS api_key, audit_log, remediation_plan, exception_event, exception,
    playbook_step, tool_definition, playbook, tenant_policy_pack_version, domain_pack_version, tenant;
DROP FUNCTION IF EXISTS sentinai_refuse_history_change();
DROP FUNCTION IF EXISTS sentinai_current_tenant();
DROP TYPE IF EXISTS api_key_role, remediation_plan_status, risk_level, tool_type, actor_type,
    exception_status, exception_severity, tenant_status;
