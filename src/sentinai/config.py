"""One typed settings object, read from the environment once and passed in."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from sentinai.db.urls import unsupported_parameter
from sentinai.domain.webhooks import WebhookPolicy

DEFAULT_ASSETS_DIR = Path(sys.prefix) / "share" / "sentinai-assets"
"""Inside the environment SentinAI is installed in (./.venv in a checkout): installed with it."""


class ConfigurationError(ValueError):
    """An environment variable holds a value the service cannot use."""


def normalise_database_url(raw: str, name: str = "DATABASE_URL") -> URL:
    """Accept `postgresql://` and `postgresql+asyncpg://`; always hand back the asyncpg driver.

    SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which is not installed. The
    query keeps libpq's parameters (`sslmode`, …) as users wrote them; `db.urls` translates
    them for asyncpg, and refuses here the ones it cannot.
    """
    try:
        url = make_url(raw)
    except Exception as error:  # sqlalchemy raises ArgumentError with the whole URL in it
        raise ConfigurationError(f"{name} is not a valid database URL") from error
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(f"{name} must point at PostgreSQL, not {url.get_backend_name()!r}")
    if problem := unsupported_parameter(url):
        raise ConfigurationError(f"{name}: {problem}")
    return url.set(drivername="postgresql+asyncpg")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value == 0:
        raise ConfigurationError(f"{name} must be more than 0")
    return value


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value <= 1:
        raise ConfigurationError(f"{name} must be a fraction above 0 and at most 1, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _origins(raw: str, *, production: bool) -> tuple[str, ...]:
    """`SENTINAI_CORS_ORIGINS`: comma-separated origins such as `https://console.example.com`."""
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    for origin in origins:
        if origin == "*":
            if production:
                raise ConfigurationError("SENTINAI_CORS_ORIGINS may not be * in production: list the origins")
            continue
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise ConfigurationError(f"SENTINAI_CORS_ORIGINS: {origin!r} is not an origin like https://host[:port]")
    return origins


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment.

    `database_url` is None when the embedded PostgreSQL should be used; the
    runtime fills it in once that server is up (see `db.embedded`).
    """

    database_url: URL | None = None
    migration_database_url: URL | None = None
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 2.0
    db_echo: bool = False
    db_statement_timeout_ms: int = 15_000
    db_connect_attempts: int = 8
    data_dir: Path = field(default_factory=lambda: Path(".sentinai"))
    admin_token: str | None = None
    auth_cache_seconds: float = 5.0
    environment: str = "development"
    introspection: bool = True
    max_query_cost: int = 10_000
    cost_budget: int = 100_000
    cost_restore_rate: float = 2_000.0
    max_concurrent_requests: int = 64
    request_deadline_seconds: float = 10.0
    document_reads: bool = True
    """Answer plannable read operations with one SQL statement (`api.planner`)."""
    memo_bytes: int = 32 * 1024 * 1024
    """Bytes each of the pipeline's five memos may hold (parses, validations, plans, two of prepared
    reads; `api.memo`): at most five times this in all, per process."""
    memo_tenant_share: float = 0.25
    """The fraction of a memo's bytes one tenant's entries may hold."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API from another origin (none by default)."""
    webhook_private_targets: bool = True
    """Whether webhooks may target loopback/private addresses (off in production by default: SSRF)."""
    webhook_retry_base_seconds: float = 5.0
    webhook_disable_after_seconds: float = 3 * 24 * 3600.0
    webhook_timeout_seconds: float = 10.0
    """One webhook request, from connecting to the last byte of the answer."""
    webhook_concurrency: int = 8
    """Endpoint delivery rounds one process runs at once, over all tenants."""
    webhook_concurrency_per_tenant: int = 2
    """How many of those one tenant's endpoints may hold."""
    webhook_round_seconds: float = 30.0
    """A round starts no request after this long; the endpoint then queues behind the others."""
    max_subscriptions_per_connection: int = 20
    max_subscriptions_per_key: int = 200
    """Live subscriptions one API key may hold open in one process, over all its connections."""
    live_pool_share: int = 3
    """Pool connections all live subscriptions of a process may hold at once: HTTP keeps the rest."""
    live_reads_per_tenant: int = 2
    """Of those, how many one tenant's subscriptions may hold at once."""
    live_loop_share: float = 0.2
    """The share of each second of a process's event loop one tenant's live deliveries may use."""
    idempotency_retention_hours: int = 24
    """How long an `idempotencyKey` answers its first result; at least 24 hours."""
    assets_dir: Path = DEFAULT_ASSETS_DIR
    """Where `sentinai install-assets` puts GraphiQL's browser files and the server reads them."""
    console: bool | None = None
    """Serve the Operations Center console at /console; None: on outside production."""

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def serves_console(self) -> bool:
        return (not self.is_production) if self.console is None else self.console

    @property
    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy(
            allow_private_targets=self.webhook_private_targets,
            require_https=self.is_production,
            timeout_seconds=self.webhook_timeout_seconds,
            retry_base_seconds=self.webhook_retry_base_seconds,
            disable_after_seconds=self.webhook_disable_after_seconds,
            concurrency=self.webhook_concurrency,
            concurrency_per_tenant=self.webhook_concurrency_per_tenant,
            round_seconds=self.webhook_round_seconds,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        database_url = env.get("DATABASE_URL") or None
        migration_url = env.get("MIGRATION_DATABASE_URL") or None
        admin_token = env.get("SENTINAI_ADMIN_TOKEN") or None
        environment = env.get("SENTINAI_ENV", "development")
        if admin_token is not None and len(admin_token) < 24:
            raise ConfigurationError("SENTINAI_ADMIN_TOKEN must be at least 24 characters long")
        cors_origins = _origins(env.get("SENTINAI_CORS_ORIGINS", ""), production=environment == "production")
        return cls(
            database_url=normalise_database_url(database_url) if database_url else None,
            migration_database_url=(
                normalise_database_url(migration_url, "MIGRATION_DATABASE_URL") if migration_url else None
            ),
            db_pool_size=_int(env, "DB_POOL_SIZE", 10, minimum=1),
            db_max_overflow=_int(env, "DB_MAX_OVERFLOW", 5),
            db_pool_timeout=_float(env, "DB_POOL_TIMEOUT", 2.0),
            db_echo=_bool(env, "DB_ECHO", False),
            db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 15_000, minimum=1),
            db_connect_attempts=_int(env, "DB_CONNECT_ATTEMPTS", 8, minimum=1),
            data_dir=Path(env.get("SENTINAI_DATA_DIR") or ".sentinai"),
            admin_token=admin_token,
            auth_cache_seconds=_float(env, "SENTINAI_AUTH_CACHE_SECONDS", 5.0),
            environment=environment,
            introspection=_bool(env, "SENTINAI_INTROSPECTION", environment != "production"),
            max_query_cost=_int(env, "SENTINAI_MAX_QUERY_COST", 10_000, minimum=1),
            cost_budget=_int(env, "SENTINAI_COST_BUDGET", 100_000, minimum=1),
            cost_restore_rate=_float(env, "SENTINAI_COST_RESTORE_RATE", 2_000.0),
            max_concurrent_requests=_int(env, "SENTINAI_MAX_CONCURRENT_REQUESTS", 64, minimum=1),
            request_deadline_seconds=_float(env, "SENTINAI_REQUEST_DEADLINE_SECONDS", 10.0),
            document_reads=_bool(env, "SENTINAI_DOCUMENT_READS", True),
            memo_bytes=_int(env, "SENTINAI_MEMO_BYTES", 32 * 1024 * 1024, minimum=64 * 1024),
            memo_tenant_share=_share(env, "SENTINAI_MEMO_TENANT_SHARE", 0.25),
            cors_origins=cors_origins,
            webhook_private_targets=_bool(env, "SENTINAI_WEBHOOK_PRIVATE_TARGETS", environment != "production"),
            webhook_retry_base_seconds=_float(env, "SENTINAI_WEBHOOK_RETRY_BASE_SECONDS", 5.0),
            webhook_disable_after_seconds=_float(env, "SENTINAI_WEBHOOK_DISABLE_AFTER_SECONDS", 3 * 24 * 3600.0),
            webhook_timeout_seconds=_positive(env, "SENTINAI_WEBHOOK_TIMEOUT_SECONDS", 10.0),
            webhook_concurrency=_int(env, "SENTINAI_WEBHOOK_CONCURRENCY", 8, minimum=1),
            webhook_concurrency_per_tenant=_int(env, "SENTINAI_WEBHOOK_CONCURRENCY_PER_TENANT", 2, minimum=1),
            webhook_round_seconds=_positive(env, "SENTINAI_WEBHOOK_ROUND_SECONDS", 30.0),
            max_subscriptions_per_connection=_int(env, "SENTINAI_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20, minimum=1),
            max_subscriptions_per_key=_int(env, "SENTINAI_MAX_SUBSCRIPTIONS_PER_KEY", 200, minimum=1),
            live_pool_share=_int(env, "SENTINAI_LIVE_POOL_SHARE", 3, minimum=1),
            live_reads_per_tenant=_int(env, "SENTINAI_LIVE_READS_PER_TENANT", 2, minimum=1),
            live_loop_share=_share(env, "SENTINAI_LIVE_LOOP_SHARE", 0.2),
            idempotency_retention_hours=_int(env, "SENTINAI_IDEMPOTENCY_RETENTION_HOURS", 24, minimum=24),
            assets_dir=Path(env["SENTINAI_ASSETS_DIR"]) if env.get("SENTINAI_ASSETS_DIR") else DEFAULT_ASSETS_DIR,
            console=_bool(env, "SENTINAI_CONSOLE", environment != "production"),
        )

    def with_database(self, runtime: URL, migration: URL) -> Settings:
        """A copy pointing at a concrete server (used once the embedded one is up)."""
        return Settings(**{**self.__dict__, "database_url": runtime, "migration_database_url": migration})

    @property
    def owner_url(self) -> URL:
        """The URL migrations run with: the schema owner's."""
        url = self.migration_database_url or self.database_url
        if url is None:
            raise ConfigurationError("no database configured yet")
        return url
