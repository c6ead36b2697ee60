"""``showroom-server`` on the command line, and the real server process over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from server_kit import customer_insert, headers

from showroom.ids import new_id
from sync import protocol
from sync.server import cli

REPO = Path(__file__).resolve().parents[2]


def _run(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_admin_commands(capsys, server_db_url):
    db = ["--db", server_db_url]
    code, out, _ = _run(capsys, "migrate", *db)
    assert code == 0 and out[0]["revision"] == "s0003"
    code, out, _ = _run(capsys, "create-dealer", "三号店", *db)
    assert code == 0
    dealer_id = out[0]["dealer_id"]
    code, out, _ = _run(capsys, "enroll-code", "--dealer", dealer_id, "--ttl-hours", "2", *db)
    assert code == 0
    enrol_code = out[0]["code"]
    assert len(enrol_code) == 14 and enrol_code.count("-") == 2
    assert not set(enrol_code.replace("-", "")) & set("01ILO")
    _, dealers, _ = _run(capsys, "dealers", *db)
    assert [d["name"] for d in dealers] == ["三号店"]
    code, devices, _ = _run(capsys, "devices", "--dealer", dealer_id, *db)
    assert code == 0 and devices == []
    code, out, _ = _run(capsys, "purge", "--retention-days", "30", *db)
    assert code == 0 and out[0]["dealer_id"] == dealer_id


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["enroll-code", "--dealer", "nope"], "dealer"),
        (["enroll-code", "--dealer", "x", "--ttl-hours", "0"], "ttl-hours"),
        (["revoke-device", "nope"], "device"),
        (["create-dealer", "  "], "name"),
        (["purge", "--retention-days", "-1"], "retention-days"),
        (["enroll-code"], "--dealer"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(capsys, server_db_url, args, field):
    try:
        code = cli.main([*args, "--db", server_db_url])
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert field in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(db: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "sync.server.cli", *args, "--db", db],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_real_server_process_enrols_pushes_and_pulls(server_db_url, tmp_path):
    """``showroom-server serve`` (two worker processes) spoken to over real HTTP."""
    env = {**os.environ, "SHOWROOM_DATA_DIR": str(tmp_path)}
    dealer_id = _cli(server_db_url, "create-dealer", "四号店")["dealer_id"]
    code = _cli(server_db_url, "enroll-code", "--dealer", dealer_id)["code"]
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.server.cli",
            "serve",
            "--db",
            server_db_url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=10) as http:
            enrolled = http.post(
                "/v1/enroll", json={"code": code, "device_name": "展厅", "device_id": new_id()}
            )
            assert enrolled.status_code == 200, enrolled.text
            auth = headers(enrolled.json()["token"])
            insert = customer_insert(name="赵敏")
            body = {"batch_id": new_id(), "cursor": 0, "ops": [insert]}
            pushed = http.post("/v1/sync/push", json=body, headers=auth)
            assert pushed.json()["results"][0]["status"] == protocol.RESULT_APPLIED
            pulled = http.get("/v1/sync/pull", params={"since": 0}, headers=auth).json()
            names = {r["data"]["name"] for r in pulled["rows"] if r["table"] == "customer"}
            assert names == {"赵敏"}
        devices = _cli(server_db_url, "devices")
        assert devices["name"] == "展厅" and devices["dealer_id"] == dealer_id
    finally:
        process.terminate()
        process.wait(10)
        log.close()
