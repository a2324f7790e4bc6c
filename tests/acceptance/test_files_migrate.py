"""``plainrun files migrate`` moves file contents between storages: local folder -> database -> S3,
each file checked against its hash, safe to run again, and the files readable from the new one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from plainrun.services.access import SYSTEM
from plainrun.services.container import build_services
from plainrun.settings import Settings
from tests.conftest import s3_place

BIN = Path(sys.executable).parent


def test_contents_move_from_folder_to_database_to_s3(tmp_path: Path, s3_endpoint: str) -> None:
    place = s3_place(s3_endpoint)
    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": f"sqlite:///{tmp_path / 'plainrun.db'}",
        "PLAINRUN_DATA_DIR": str(tmp_path / "var"),
        "PLAINRUN_S3_BUCKET": place.bucket,
        "PLAINRUN_S3_ENDPOINT_URL": s3_endpoint,
        "PLAINRUN_S3_ACCESS_KEY_ID": "k",
        "PLAINRUN_S3_SECRET_ACCESS_KEY": "s",
    }

    def settings(storage: str) -> Settings:
        fields = {k.removeprefix("PLAINRUN_").lower(): v for k, v in env.items() if k.startswith("PLAINRUN_")}
        return Settings(**fields, file_storage=storage)  # type: ignore[arg-type]

    def migrate(*args: str) -> str:
        done = subprocess.run(
            [str(BIN / "plainrun"), "files", "migrate", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    local = build_services(settings("local"), migrate=True)
    agent = local.agents.create(SYSTEM, "acme")
    contents = {f"f{i}.bin": os.urandom(1024 * 1024 * i + 7) for i in range(4)}
    records = {
        name: local.files.put(SYSTEM, agent_id=agent.id, name=name, content_type="x/y", data=data)
        for name, data in contents.items()
    }
    local.close()

    assert "4 copied, 0 there already, 0 missing from local" in migrate("--to", "database")
    assert "0 copied, 4 there already" in migrate("--to", "database")  # run again: nothing to do
    assert "4 copied" in migrate("--from", "database", "--to", "s3", "--delete")
    for storage in ("s3", "local"):
        services = build_services(settings(storage))
        try:
            for name, record in records.items():
                _, stream = services.files.open(SYSTEM, record.id)
                with stream:
                    assert stream.read() == contents[name]
        finally:
            services.close()
    database = build_services(settings("database"))
    try:
        assert all(database.store.files.chunk(r.id, 0) is None for r in records.values())  # --delete
    finally:
        database.close()
    bad = subprocess.run(
        [str(BIN / "plainrun"), "files", "migrate", "--to", "tape"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "local, database or s3" in bad.stderr
