"""process names unique per agent (processes.name_key, a unique index), archived processes, and a
run made into one test case at most

A process's name is unique within its agent as a child run names it (``process_key``: case, spaces
and a leading ``to`` do not count). Processes that already share a name keep it on the oldest;
each later one is renamed "<name> (2)", "<name> (3)", … (its name shortened to fit when needed).

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plainrun.language.names import process_key

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

MAX_NAME = 100


def _free_name(name: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = name[: MAX_NAME - len(suffix)].rstrip() + suffix
        if process_key(candidate) not in taken:
            return candidate
        n += 1


def upgrade() -> None:
    op.add_column("processes", sa.Column("name_key", sa.String(100), nullable=True))
    op.add_column("processes", sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()))
    processes = sa.table(
        "processes",
        sa.column("id", sa.String),
        sa.column("agent_id", sa.String),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(processes.c.id, processes.c.agent_id, processes.c.name).order_by(
            processes.c.agent_id, processes.c.created_at, processes.c.id
        )
    ).all()
    existing: dict[str, set[str]] = {}  # every name an agent's processes have: a new one avoids them all
    for _, agent_id, name in rows:
        existing.setdefault(agent_id, set()).add(process_key(name))
    claimed: dict[str, set[str]] = {}
    for process_id, agent_id, name in rows:
        mine = claimed.setdefault(agent_id, set())
        if process_key(name) in mine:
            name = _free_name(name, existing[agent_id] | mine)
            existing[agent_id].add(process_key(name))
        mine.add(process_key(name))
        conn.execute(
            processes.update()
            .where(processes.c.id == process_id)
            .values(name=name, name_key=process_key(name))
        )
    with op.batch_alter_table("processes") as batch:
        batch.alter_column("name_key", existing_type=sa.String(100), nullable=False)
    op.create_index("uq_processes_name", "processes", ["agent_id", "name_key"], unique=True)
    _one_case_per_run(conn)
    op.create_index("uq_test_cases_run", "test_cases", ["source_run_id"], unique=True)


def _one_case_per_run(conn: sa.Connection) -> None:
    """A run already made into several test cases keeps its oldest; the later ones stay test cases,
    no longer tied to the run."""
    cases = sa.table(
        "test_cases",
        sa.column("id", sa.String),
        sa.column("source_run_id", sa.String),
        sa.column("created_at"),
    )
    seen: set[str] = set()
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.source_run_id)
        .where(cases.c.source_run_id.is_not(None))
        .order_by(cases.c.created_at, cases.c.id)
    ).all()
    for case_id, run_id in rows:
        if run_id in seen:
            conn.execute(cases.update().where(cases.c.id == case_id).values(source_run_id=None))
        seen.add(run_id)


def downgrade() -> None:
    op.drop_index("uq_test_cases_run", table_name="test_cases")
    op.drop_index("uq_processes_name", table_name="processes")
    with op.batch_alter_table("processes") as batch:
        batch.drop_column("archived")
        batch.drop_column("name_key")
