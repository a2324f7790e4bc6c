"""Hosts that share only the PostgreSQL database share file contents too: a file uploaded to one
server, attached to an e-mail received by it, or written by a run on another host's worker, is read
by every other host (each with a data directory of its own)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from plainrun.domain.runs import RunState, Stage
from plainrun.engine.worker import WorkerConfig
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings
from tests.integration.test_engine import wait_for, worker_in_thread

pytestmark = pytest.mark.postgres

SOURCE = (
    "to copy an attachment\n"
    "  read the text of the file\n"
    "  the output text is the above\n"
    '  write the above to a file named "copy.txt"\n'
    "  the output copy is the above\n"
)


def _host(pg_url: str, data_dir: Path) -> Services:
    return build_services(
        Settings(database_url=pg_url, data_dir=data_dir, mail_domain="mail.test"), migrate=True
    )


def test_files_from_one_host_are_read_and_written_by_a_worker_on_another(pg_url: str, tmp_path: Path) -> None:
    api, other = _host(pg_url, tmp_path / "api"), _host(pg_url, tmp_path / "worker")
    assert api.blobs.kind == other.blobs.kind == "database"
    agent = api.agents.create(SYSTEM, "acme")
    process = api.processes.create(SYSTEM, agent_id=agent.id, source=SOURCE)
    api.processes.publish(SYSTEM, process.id)
    uploaded = api.files.put(
        SYSTEM, agent_id=agent.id, name="note.txt", content_type="text/plain", data=b"from the API"
    )
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "ap@acme.test", "invoice", "<m1@acme.test>"
    message["To"] = address = api.mail.settings(SYSTEM, process.id).addresses[1].address
    message.set_content("see attached")
    message.add_attachment(b"from an e-mail", maintype="text", subtype="plain", filename="mail.txt")
    try:
        run_ids = [
            api.runs.start(
                SYSTEM, RunRequest(agent.id, process.id, Stage.PUBLISHED, "upload", file_ids=[uploaded.id])
            ).id,
            *api.mail.receive(message.as_bytes(), "ap@acme.test", [address]),
        ]
        with worker_in_thread(other, WorkerConfig(executor_size=1)):
            wait_for(
                lambda: all(api.runs.get(SYSTEM, r).state.is_final for r in run_ids), 60, "the runs to end"
            )
        texts = []
        for run_id in run_ids:
            run = api.runs.get(SYSTEM, run_id)
            assert run.state is RunState.SUCCEEDED, run.error
            outputs = {o["name"]: o["value"] for o in run.outputs or []}
            texts.append(outputs["text"])
            record, stream = api.files.open(SYSTEM, outputs["copy"])  # written on the worker's host
            with stream:
                assert (record.name, stream.read().decode()) == ("copy.txt", outputs["text"])
        assert texts == ["from the API", "from an e-mail"]
        assert not (tmp_path / "api" / "files").exists() or not any((tmp_path / "api" / "files").rglob("*"))
    finally:
        api.close()
        other.close()
