"""Running on several hosts: the settings hosts must share are checked when each starts, and a load
balancer's probes tell a live host from a ready one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plainrun.http import create_app
from plainrun.services.container import build_services
from plainrun.services.installation import SettingsDisagree
from plainrun.settings import Settings
from tests.conftest import s3_place

BIN = Path(sys.executable).parent


def test_a_host_whose_shared_settings_differ_refuses_to_start_naming_each(
    database_url: str, tmp_path: Path
) -> None:
    first = Settings(database_url=database_url, data_dir=tmp_path / "a", mail_domain="mail.acme.test")
    build_services(first, migrate=True).close()  # the first host records the installation's settings
    same = Settings(
        database_url=database_url, data_dir=tmp_path / "b", mail_domain="mail.acme.test", port=9999
    )
    build_services(same, migrate=True).close()  # a data folder and a port of its own are its own business
    other = Settings(
        database_url=database_url,
        data_dir=tmp_path / "c",
        mail_domain="other.test",
        secret_key="s" * 32,
        file_storage="database" if first.file_storage_kind == "local" else "local",
    )
    with pytest.raises(SettingsDisagree) as refused:
        build_services(other, migrate=True)
    named = dict(refused.value.details)
    assert set(named) == {"PLAINRUN_FILE_STORAGE", "PLAINRUN_MAIL_DOMAIN", "PLAINRUN_SECRET_KEY"}
    assert "other.test here, mail.acme.test for the installation" in named["PLAINRUN_MAIL_DOMAIN"]
    assert "s" * 32 not in str(named)  # a secret is compared by its fingerprint, never shown

    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": database_url,
        "PLAINRUN_DATA_DIR": str(tmp_path / "c"),
        "PLAINRUN_MAIL_DOMAIN": "other.test",
        "PLAINRUN_FILE_STORAGE": other.file_storage,
        "PLAINRUN_SECRET_KEY": "s" * 32,
    }
    worker = subprocess.run(
        [str(BIN / "plainrun"), "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert (
        worker.returncode == 1
        and "PLAINRUN_MAIL_DOMAIN" in worker.stderr
        and "Traceback" not in worker.stderr
    )
    adopt = subprocess.run(
        [str(BIN / "plainrun"), "migrate", "--adopt-settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert adopt.returncode == 0, adopt.stderr
    build_services(other, migrate=True).close()  # the new settings are the installation's now
    with pytest.raises(SettingsDisagree):
        build_services(first, migrate=True)


def test_live_and_ready_probes(sqlite_url: str, tmp_path: Path, s3_endpoint: str) -> None:
    place = s3_place(s3_endpoint)
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path,
        file_storage="s3",
        s3_bucket=place.bucket,
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id="k",
        s3_secret_access_key="s",
    )
    build_services(settings, migrate=True).close()
    with TestClient(create_app(settings)) as client:
        assert client.get("/livez").json()["status"] == "live"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "file_storage": "ok", "settings": "ok"}
    gone = Settings(
        **{**settings.model_dump(exclude={"s3_secret_access_key"}), "s3_bucket": "no-such-bucket"},
        s3_secret_access_key="s",
    )
    with TestClient(create_app(gone)) as client:  # not migrated and checked: only asked
        unready = client.get("/readyz")
        assert unready.status_code == 503 and unready.json()["status_code"] == 503
        names = {d["name"] for d in unready.json()["details"]}
        assert names == {"file_storage", "settings"}  # the bucket cannot be reached, and it differs
        assert client.get("/livez").status_code == 200
