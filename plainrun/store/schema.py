"""The database schema, as SQLAlchemy Core tables shared by both backends.

Migrations under ``plainrun/store/migrations`` build exactly this schema; a test checks that a
database migrated from the first revision equals one made from these tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both backends (SQLite keeps no zone of its own).

    On SQLite the value is text in SQLAlchemy's own storage format for DATETIME, naive UTC
    (``2026-12-01 09:48:15.123456``), converted here with ``isoformat``/``fromisoformat`` (a few times
    faster than the general formatter, and run for every timestamp of every run).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(
        self, dialect: sa.Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

        return process

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(26)
Timestamp = UtcDateTime()

installation = sa.Table(
    "installation",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

processes = sa.Table(
    "processes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    # The name as a child run names it (``process_key``): unique per agent.
    sa.Column("name_key", sa.String(100), nullable=False),
    sa.Column("description", sa.String(1000), nullable=False),
    sa.Column("draft_sha256", sa.String(64), sa.ForeignKey("sources.sha256"), nullable=False),
    sa.Column("draft_revision", sa.Integer, nullable=False),
    sa.Column("published_version", sa.Integer, nullable=True),
    sa.Column("settings", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # At most this many runs of the process Running at once (None: no limit); settings'
    # max_concurrency, kept in a column of its own for the claim.
    sa.Column("max_concurrent_runs", sa.Integer, nullable=True),
    # An archived process is out of the list and starts no runs; its runs are kept.
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("uq_processes_name", "agent_id", "name_key", unique=True),
    sa.Index(
        "ix_processes_limited",
        "id",
        postgresql_where=sa.text("max_concurrent_runs IS NOT NULL"),
        sqlite_where=sa.text("max_concurrent_runs IS NOT NULL"),
    ),
)

process_versions = sa.Table(
    "process_versions",
    metadata,
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("sources.sha256"), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("ready", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # An agent's bytes of files, summed from the index alone (its quota).
    sa.Index("ix_files_agent_size", "agent_id", "size"),
)

# File contents kept in the database (the ``database`` file storage): chunk ``seq`` of a file's
# bytes; a file with no bytes has one empty chunk, so that its contents are known to exist.
file_chunks = sa.Table(
    "file_chunks",
    metadata,
    sa.Column("file_id", Id, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    # The name case-folded (``domain/runs.py``): what a search by name compares, on both databases.
    sa.Column("name_key", sa.Text, nullable=True),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("sources.sha256"), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("inputs", Json, nullable=False),
    sa.Column("file_ids", Json, nullable=False),
    sa.Column("outputs", Json, nullable=True),
    sa.Column("error", Json, nullable=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("trigger_ref", sa.String(255), nullable=True),
    sa.Column("rerun_of", Id, nullable=True),
    sa.Column("parent_run_id", Id, nullable=True),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("timeout_s", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", Timestamp, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("exec_state", Json, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    # The remembered answer (learning) that last answered the run's question, if one did.
    sa.Column("learning_id", Id, nullable=True),
    # Newest first per process, with and without the stage filter (keyset pagination on id).
    sa.Index("ix_runs_process_list", "process_id", "archived", "id"),
    sa.Index("ix_runs_process_stage_list", "process_id", "stage", "archived", "id"),
    # The same, filtered by state or by trigger: a rare one (the few Failed runs among 100k) is found
    # by the index, not by scanning every run of the process.
    sa.Index("ix_runs_process_state_list", "process_id", "state", "archived", "id"),
    sa.Index("ix_runs_process_trigger_list", "process_id", "trigger", "archived", "id"),
    # What workers claim: only pending runs, oldest first.
    sa.Index(
        "ix_runs_pending",
        "id",
        postgresql_where=sa.text("state = 'Pending'"),
        sqlite_where=sa.text("state = 'Pending'"),
    ),
    # What recovery scans: running runs by lease expiry.
    sa.Index(
        "ix_runs_leases",
        "lease_expires_at",
        postgresql_where=sa.text("state = 'Running'"),
        sqlite_where=sa.text("state = 'Running'"),
    ),
    sa.Index("ix_runs_parent", "parent_run_id"),
    # Every run of an agent newest first (the all-runs page, its count and the home page's charts):
    # the filters' columns are in the index, so a filter or a count reads no row it does not show.
    # The folded name last: on SQLite a search by name reads the index alone, newest first (its
    # entries are appended in the order of ids, so a run's start costs no more for it).
    sa.Index(
        "ix_runs_agent_list",
        "agent_id",
        "archived",
        "id",
        "trigger",
        "state",
        "process_id",
        "created_at",
        "name_key",
    ),
    # The Guidance Center: the runs waiting for a person, per agent.
    sa.Index(
        "ix_runs_waiting",
        "agent_id",
        "id",
        postgresql_where=sa.text("state = 'AwaitingGuidance'"),
        sqlite_where=sa.text("state = 'AwaitingGuidance'"),
    ),
    # What the per-process concurrency limit counts: a process's pending and running runs.
    sa.Index(
        "ix_runs_active",
        "process_id",
        "state",
        "id",
        postgresql_where=sa.text("state IN ('Pending', 'Running')"),
        sqlite_where=sa.text("state IN ('Pending', 'Running')"),
    ),
    # A search by name on PostgreSQL: pg_trgm's trigrams (on SQLite: ``ix_runs_agent_list``).
    sa.Index(
        "ix_runs_name_trgm", "name_key", postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"}
    ).ddl_if(dialect="postgresql"),
)
POSTGRESQL_ONLY = frozenset({"ix_runs_name_trgm"})

# The home page's roll-up (``store/sql/days.py``): a past day's ended runs per process and state,
# with a sketch of the succeeded ones' durations, ``[[bucket, runs], …]``; process "" and state ""
# mark the day as counted (``runs``: how many the day had).
run_days = sa.Table(
    "run_days",
    metadata,
    sa.Column("agent_id", Id, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("process_id", Id, primary_key=True),
    sa.Column("state", sa.String(20), primary_key=True),
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("durations", Json, nullable=True),
)

# A counted day's runs not ended then: read afresh on every count.
run_days_open = sa.Table(
    "run_days_open",
    metadata,
    sa.Column("agent_id", Id, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("run_id", Id, primary_key=True),
)

run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=True),
    sa.Column("to_state", sa.String(20), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("data", Json, nullable=True),
    sa.Index("ix_run_events_run", "run_id", "id"),
)

box = sa.Table(
    "box",
    metadata,
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", Json, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# "Remember this answer": guidance applied by itself to the same question on the same process line.
learnings = sa.Table(
    "learnings",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("value", Json, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    # Who chose to remember it, by name (a user's name or a key's name).
    sa.Column("created_by", sa.String(100), nullable=True),
    sa.Index("ix_learnings_process", "process_id", "line"),
)

# Exception routing: who a process's questions are assigned to (users of its agent, by id) and
# who else is told by e-mail when one of its runs starts waiting for a person.
routing = sa.Table(
    "routing",
    metadata,
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("assignees", Json, nullable=False),
    sa.Column("notify", Json, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_routing_agent", "agent_id"),
)

# The Test Suite: test cases made from runs, and test runs that replay them.
test_cases = sa.Table(
    "test_cases",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("inputs", Json, nullable=False),
    sa.Column("file_ids", Json, nullable=False),
    sa.Column("expected", Json, nullable=False),
    sa.Column("source_run_id", Id, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_test_cases_process", "process_id", "id"),
    # A run makes one test case at most.
    sa.Index("uq_test_cases_run", "source_run_id", unique=True),
)

test_runs = sa.Table(
    "test_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("process_ids", Json, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Index("ix_test_runs_agent", "agent_id", "id"),
)

test_results = sa.Table(
    "test_results",
    metadata,
    sa.Column("test_run_id", Id, sa.ForeignKey("test_runs.id"), primary_key=True),
    sa.Column("test_case_id", Id, primary_key=True),
    sa.Column("process_id", Id, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("run_id", Id, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("diff", Json, nullable=True),
)

# E-mail to a process: one active address per process and stage (a token in the address; rotating
# revokes the old one), who may send, and each accepted message once per address with its facts.
mail_addresses = sa.Table(
    "mail_addresses",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Index(
        "ix_mail_addresses_active",
        "process_id",
        "stage",
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    ),
)

mail_permissions = sa.Table(
    "mail_permissions",
    metadata,
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), primary_key=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("senders", Json, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

mail_members = sa.Table(
    "mail_members",
    metadata,
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), primary_key=True),
    sa.Column("senders", Json, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

mail_messages = sa.Table(
    "mail_messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("run_id", Id, nullable=True),
    sa.Column("facts", Json, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.UniqueConstraint("message_id", "token"),
    sa.Index("ix_mail_messages_lookup", "process_id", "stage", "message_id"),
    sa.Index("ix_mail_messages_received", "process_id", "received_at"),
)

# Schedules: a published process run by itself at the slots of a schedule. ``next_at`` is the first
# slot no scheduler has dealt with yet (NULL when disabled); ``revision`` grows with every edit so a
# scheduler that read an older edition cannot move it. Each slot fires once: the unique constraint
# on (schedule_id, slot_at) decides between any number of schedulers.
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("spec", Json, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("inputs", Json, nullable=False),
    sa.Column("catch_up", sa.String(16), nullable=False),
    sa.Column("catch_up_window_s", sa.Integer, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("next_at", Timestamp, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_schedules_due", "next_at"),
    sa.Index("ix_schedules_process", "process_id", "id"),
    sa.Index("ix_schedules_agent", "agent_id", "id"),
)

schedule_fires = sa.Table(
    "schedule_fires",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("schedule_id", Id, nullable=False),
    sa.Column("slot_at", Timestamp, nullable=False),
    sa.Column("run_id", Id, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("fired_at", Timestamp, nullable=False),
    sa.UniqueConstraint("schedule_id", "slot_at"),
)

# People who sign in to the web UI with a name and a password. A user belongs to one agent and sees
# what an API key of that agent sees. ``password_hash`` is a scrypt hash with its parameters and salt.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # Where the user is told of questions assigned to them (None: not by e-mail).
    sa.Column("email", sa.String(254), nullable=True),
    sa.UniqueConstraint("name"),
    sa.Index("ix_users_agent", "agent_id", "id"),
)

# Failed sign-ins in a row, by user name (``user:<name>``) and by address (``address:<ip>``),
# shared by every server; a subject's row goes at its next success, or when it has gone stale.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("subject", sa.String(160), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_at", Timestamp, nullable=False),
    sa.Column("locked_until", Timestamp, nullable=True),
    sa.Index("ix_sign_in_failures_last", "last_at"),
)

# Webhooks: an agent's subscriptions to run events (one process's, or every process's when
# ``process_id`` is NULL); ``secret`` signs the deliveries (the subscriber saw it once, at creation).
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("process_id", Id, sa.ForeignKey("processes.id"), nullable=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", Json, nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # What the outbox write of each run's change looks up: the subscriptions of the run's agent.
    sa.Index("ix_webhook_subscriptions_agent", "agent_id", "id"),
)

# The outbox: one delivery per event and subscription, written in the transaction of the run's
# change. A pending delivery is due at ``next_at``; a deliverer that claims one moves ``next_at`` past
# its try (its lease), so a deliverer that dies mid-try leaves it to another once that passes.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column(
        "subscription_id",
        Id,
        sa.ForeignKey("webhook_subscriptions.id"),
        nullable=False,
    ),
    sa.Column("agent_id", Id, nullable=False),
    sa.Column("run_id", Id, nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_at",
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    ),
)

# Each try of a delivery: the answer's status and the start of its body, how long it took.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id",
        Id,
        sa.ForeignKey("webhook_deliveries.id"),
        nullable=False,
    ),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

# Idempotent starts: an Idempotency-Key of an agent, the fingerprint of the request it came with and
# what that request answered (``result``), written in the same transaction as the runs it started.
# The primary key lets one of any number of concurrent first requests win; rows past ``expires_at``
# count as absent and are swept.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("agent_id", Id, nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("result", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("agent_id", "key"),
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)
