"""showroom-admin: JSON lines out, exit 2 with one line naming the field on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from showroom.cli import main
from showroom.validation import vin_check_digit

VIN = "LFV2A21K03A123456"
VIN = VIN[:8] + vin_check_digit(VIN) + VIN[9:]


@pytest.fixture
def dbpath(tmp_path, migrated_template):
    path = tmp_path / "cli.db"
    shutil.copy(migrated_template, path)
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_init_creates_a_migrated_database(tmp_path, capsys):
    path = tmp_path / "sub" / "new.db"
    code, lines, _ = run(capsys, "--db", str(path), "init", "--dealer", "华通大众4S店")
    assert code == 0 and path.exists()
    assert lines[0]["revision"]
    code, (report,), _ = run(capsys, "--db", str(path), "check")
    assert code == 0
    assert report["integrity"] == "ok" and report["up_to_date"] is True
    assert report["customers"] == 0 and report["search_index_ok"] is True


def test_check_on_a_missing_file_names_db(tmp_path, capsys):
    code, lines, err = run(capsys, "--db", str(tmp_path / "none.db"), "check")
    assert (code, lines) == (2, [])
    assert err.startswith("error: db:")


def test_add_get_search_round_trip(dbpath, capsys):
    code, lines, _ = run(
        capsys, "--db", dbpath, "customers", "add", "--name", "陈晓明",
        "--phone", "138 1234 5678", "--vin", VIN, "--plate", "粤b12345", "--level", "A",
    )  # fmt: skip
    assert code == 0
    new_id = lines[0]["id"]

    code, (record,), _ = run(capsys, "--db", dbpath, "customers", "get", new_id)
    assert code == 0
    assert record["customer"]["name"] == "陈晓明"
    assert record["customer"]["phones"][0]["number"] == "138****5678"  # masked
    assert record["customer"]["vehicles"][0]["plate"] == "粤B12345"
    assert record["intent_history"][0]["to_level"] == "A"
    assert record["follow_ups"][0]["done"] is False

    code, hits, _ = run(capsys, "--db", dbpath, "customers", "search", "5678")
    assert code == 0 and [h["id"] for h in hits] == [new_id]
    assert hits[0]["matched_on"] == "phone"


def test_duplicate_prints_candidates_and_exits_3_then_force_adds(dbpath, capsys):
    run(capsys, "--db", dbpath, "customers", "add", "--name", "陈晓明", "--phone", "13812345678")
    code, lines, err = run(
        capsys, "--db", dbpath, "customers", "add", "--name", "陈小明", "--phone", "+8613812345678"
    )
    assert code == 3
    assert lines[0]["duplicate"]["name"] == "陈晓明"
    assert lines[0]["duplicate"]["reasons"] == ["phone", "similar_name"]
    assert "error:" in err
    code, lines, _ = run(
        capsys, "--db", dbpath, "customers", "add", "--name", "陈小明", "--phone", "13812345678",
        "--force",
    )  # fmt: skip
    assert code == 0 and "id" in lines[0]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--phone", "12345"], "phone"),
        (["--phone", "13812345678", "--vin", VIN[:-1] + "X"], "vin"),
        (["--phone", "13812345678", "--plate", "沪"], "plate"),
        (["--phone", "13812345678", "--id-number", "110101199001011234"], "id_number"),
        (["--phone", "13812345678", "--email", "a@"], "email"),
        (["--phone", "13812345678", "--level", "Q"], "intent_level"),
        (["--phone", "13812345678", "--birthday", "1990/01/01"], "birthday"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(dbpath, capsys, args, field):
    code, lines, err = run(capsys, "--db", dbpath, "customers", "add", "--name", "陈晓明", *args)
    assert code == 2 and lines == []
    assert err.count("\n") == 1 and err.startswith(f"error: {field}:")
    code, (report,), _ = run(capsys, "--db", dbpath, "check")
    assert report["customers"] == 0 and report["pending_sync_ops"] == 2  # dealer + system user


def test_english_messages_on_request(dbpath, capsys):
    code, _, err = run(
        capsys, "--db", dbpath, "--lang", "en", "customers", "add", "--name", "x", "--phone", "1"
    )
    assert code == 2 and err.startswith("error: phone:") and err.isascii()


def test_bad_arguments_and_unknown_ids(dbpath, capsys):
    code, _, err = run(capsys, "--db", dbpath, "customers", "search", "王")
    assert code == 2 and err.startswith("error: query:")
    code, _, err = run(capsys, "--db", dbpath, "customers", "search", "王芳", "--limit", "0")
    assert code == 2 and err.startswith("error: limit:")
    code, _, err = run(capsys, "--db", dbpath, "customers", "get", "no-such-id")
    assert code == 4 and "no-such-id" in err
    code, _, err = run(capsys, "--db", dbpath, "demo-data", "--customers", "0")
    assert code == 2 and err.startswith("error: customers:")
    with pytest.raises(SystemExit) as raised:
        main(["--db", dbpath, "customers", "add", "--phone", "13812345678"])
    assert raised.value.code == 2
    assert "--name" in capsys.readouterr().err


def test_merge_and_due_follow_ups(dbpath, capsys):
    _, (a,), _ = run(capsys, "--db", dbpath, "customers", "add", "--name", "王芳",
                     "--phone", "13800000001", "--level", "H")  # fmt: skip
    _, (b,), _ = run(capsys, "--db", dbpath, "customers", "add", "--name", "王芳",
                     "--phone", "13800000002", "--force")  # fmt: skip
    code, (merged,), _ = run(capsys, "--db", dbpath, "customers", "merge", a["id"], b["id"])
    assert code == 0 and merged["moved"]["customer_phone"] == 1
    code, tasks, _ = run(capsys, "--db", dbpath, "follow-ups", "due", "--user", "system")
    assert code == 0 and tasks == []  # the first H follow-up is due tomorrow


def test_console_script_is_installed(dbpath):
    exe = shutil.which("showroom-admin") or str(
        __import__("pathlib").Path(sys.executable).with_name("showroom-admin")
    )
    result = subprocess.run(
        [exe, "--db", dbpath, "customers", "add", "--name", "陈晓明", "--phone", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: phone:")


def test_demo_data_brings_its_own_store_and_finds_customers(tmp_path, capsys):
    path = str(tmp_path / "demo.db")
    code, lines, _ = run(capsys, "--db", path, "demo-data", "--customers", "50", "--seed", "3")
    assert code == 0 and lines[-1]["customers"] == 50
    code, (report,), _ = run(capsys, "--db", path, "check")
    assert code == 0 and report["customers"] == 50 and report["search_index_ok"]
    code, _, err = run(capsys, "--db", path, "demo-data", "--customers", "5")
    assert code == 2 and err.startswith("error: db:")  # never on top of real customers


def _added(dbpath, capsys, name="陈晓明", phone="13812345678"):
    code, lines, _ = run(
        capsys, "--db", dbpath, "customers", "add", "--name", name, "--phone", phone
    )
    assert code == 0
    return lines[0]["id"]


def test_customers_set_changes_fields_and_queues_one_sync_op(dbpath, capsys):
    import sqlite3

    cid = _added(dbpath, capsys)
    with sqlite3.connect(dbpath) as conn:
        before = conn.execute("SELECT max(seq) FROM sync_outbox").fetchone()[0]
    code, (record,), _ = run(
        capsys, "--db", dbpath, "customers", "set", cid, "address=深圳市 南山区",
        "vip=yes", "intent_level=H", "phones=13912345678,+852 6123 4567", "notes=",
    )  # fmt: skip
    assert code == 0
    assert record["address"] == "深圳市 南山区" and record["vip"] is True
    assert record["intent_level"] == "H"
    assert [p["number"] for p in record["phones"]] == ["139****5678", "+852 **** 4567"]
    with sqlite3.connect(dbpath) as conn:
        ops = conn.execute(
            "SELECT table_name, op, fields FROM sync_outbox WHERE seq > ?", (before,)
        ).fetchall()
    customer_ops = [json.loads(f) for t, op, f in ops if t == "customer" and op == "update"]
    assert customer_ops and customer_ops[0]["address"]["new"] == "深圳市 南山区"
    code, (again,), _ = run(capsys, "--db", dbpath, "customers", "get", cid)
    assert again["customer"]["vip"] is True


@pytest.mark.parametrize(
    ("assignment", "field"),
    [
        ("colour=red", "colour"),
        ("email=not-an-email", "email"),
        ("birthday=2099-01-01", "birthday"),
        ("intent_level=Z", "intent_level"),
        ("vip=perhaps", "vip"),
        ("phones=12345", "phone"),
        ("address", "address"),
    ],
)
def test_customers_set_with_bad_input_exits_2_naming_the_field(dbpath, capsys, assignment, field):
    cid = _added(dbpath, capsys)
    code, lines, err = run(capsys, "--db", dbpath, "customers", "set", cid, assignment)
    assert (code, lines) == (2, [])
    assert err.startswith(f"error: {field}")
    code, (record,), _ = run(capsys, "--db", dbpath, "customers", "get", cid)
    assert record["customer"]["email"] is None and record["customer"]["vip"] is False


def test_customers_set_on_an_unknown_id_or_twice_the_same_field(dbpath, capsys):
    code, _, err = run(capsys, "--db", dbpath, "customers", "set", "no-such-id", "notes=x")
    assert code == 4 and "no-such-id" in err
    cid = _added(dbpath, capsys)
    code, _, err = run(capsys, "--db", dbpath, "customers", "set", cid, "notes=a", "notes=b")
    assert code == 2 and err.startswith("error: notes:")


def test_customers_set_warns_of_a_duplicate_phone_unless_forced(dbpath, capsys):
    first = _added(dbpath, capsys)
    second = _added(dbpath, capsys, name="王芳", phone="13912345678")
    code, lines, _ = run(capsys, "--db", dbpath, "customers", "set", second, "phones=13812345678")
    assert code == 3 and lines[0]["duplicate"]["customer_id"] == first
    argv = ("customers", "set", second, "phones=13812345678", "--force")
    code, (record,), _ = run(capsys, "--db", dbpath, *argv)
    assert code == 0 and record["phones"][0]["number"] == "138****5678"
    code, (full,), _ = run(capsys, "--db", dbpath, "customers", "get", second, "--reveal")
    assert [p["number"] for p in full["customer"]["phones"]] == ["+8613812345678"]


# --- masked output, and the audited --reveal ---------------------------------------------------

ID_NUMBER = "110101199003071233"
FULL = ("13812345678", "8613812345678", ID_NUMBER, "19900307")


def _reveals(dbpath) -> list[tuple[str, str, str]]:
    """(action, customer id, actor's user name) of every reveal in the audit trail."""
    import sqlite3

    with sqlite3.connect(dbpath) as conn:
        return conn.execute(
            "SELECT a.action, a.target_id, u.username FROM audit_log a"
            " JOIN app_user u ON u.id = a.actor_id"
            " WHERE a.action LIKE 'reveal%' ORDER BY a.action"
        ).fetchall()


@pytest.fixture
def with_id(dbpath, capsys) -> str:
    code, lines, _ = run(
        capsys, "--db", dbpath, "customers", "add", "--name", "陈晓明",
        "--phone", "13812345678", "--id-number", ID_NUMBER,
    )  # fmt: skip
    assert code == 0
    return lines[0]["id"]


def test_get_search_and_list_print_masked_values_and_record_no_reveal(dbpath, capsys, with_id):
    outputs = []
    for argv in (("get", with_id), ("search", "13812345678"), ("search", "5678"), ("list",)):
        code, lines, _ = run(capsys, "--db", dbpath, "customers", *argv)
        assert code == 0 and lines, argv
        outputs.append(json.dumps(lines, ensure_ascii=False))
    record = json.loads(outputs[0])[0]["customer"]
    assert record["phones"][0]["number"] == "138****5678"
    assert record["id_number"] == "110101********1233"
    assert json.loads(outputs[1])[0]["phone"] == "138****5678"  # a full phone still finds it
    assert json.loads(outputs[3])[0]["phone"] == "138****5678"
    for text in outputs:
        for value in FULL:
            assert value not in text
    assert _reveals(dbpath) == []


def test_reveal_prints_full_values_with_one_audit_entry_each(dbpath, capsys, with_id):
    code, (record,), _ = run(capsys, "--db", dbpath, "customers", "get", with_id, "--reveal")
    assert code == 0
    assert record["customer"]["phones"][0]["number"] == "+8613812345678"
    assert record["customer"]["id_number"] == ID_NUMBER
    # The system account is who the command acts as without --as.
    assert _reveals(dbpath) == [
        ("reveal_id_number", with_id, "system"),
        ("reveal_phone", with_id, "system"),
    ]

    code, hits, _ = run(capsys, "--db", dbpath, "customers", "search", "5678", "--reveal")
    assert code == 0 and [h["phone"] for h in hits] == ["+8613812345678"]
    code, rows, _ = run(capsys, "--db", dbpath, "customers", "list", "--reveal")
    assert code == 0 and [r["phone"] for r in rows] == ["+8613812345678"]
    assert _reveals(dbpath).count(("reveal_phone", with_id, "system")) == 3
    assert len(_reveals(dbpath)) == 4


def test_reveal_names_the_user_given_with_as_and_refuses_a_role_that_may_not(
    dbpath, capsys, with_id, monkeypatch
):
    monkeypatch.setenv("PW", "a-long-password")
    for username, role in (("manager01", "manager"), ("service01", "service_advisor")):
        code, _, _ = run(
            capsys, "--db", dbpath, "users", "add", "--username", username, "--name", username,
            "--role", role, "--password-env", "PW",
        )  # fmt: skip
        assert code == 0
    code, (record,), _ = run(
        capsys, "--db", dbpath, "--as", "manager01", "customers", "get", with_id, "--reveal"
    )
    assert code == 0 and record["customer"]["id_number"] == ID_NUMBER
    assert {who for _, _, who in _reveals(dbpath)} == {"manager01"}

    before = _reveals(dbpath)
    for argv in (("get", with_id), ("search", "5678"), ("list",)):
        code, lines, err = run(
            capsys, "--db", dbpath, "--lang", "en", "--as", "service01", "customers", *argv,
            "--reveal",
        )  # fmt: skip
        assert (code, lines) == (8, []), argv
        assert err.startswith("error:") and "reveal" in err
    assert _reveals(dbpath) == before  # refused: nothing shown, nothing recorded
    code, (masked,), _ = run(
        capsys, "--db", dbpath, "--as", "service01", "customers", "get", with_id
    )
    assert code == 0 and masked["customer"]["id_number"] == "110101********1233"


def test_list_takes_a_sort_and_a_limit(dbpath, capsys):
    for name, phone in (
        ("王芳", "13900000001"),
        ("陈晓明", "13900000002"),
        ("李强", "13900000003"),
    ):
        _added(dbpath, capsys, name=name, phone=phone)
    code, rows, _ = run(
        capsys, "--db", dbpath, "customers", "list", "--sort", "name", "--ascending", "--limit", "2"
    )
    assert code == 0 and [r["name"] for r in rows] == sorted(["王芳", "陈晓明", "李强"])[:2]
    code, _, err = run(capsys, "--db", dbpath, "customers", "list", "--sort", "colour")
    assert code == 2 and err.startswith("error: sort:")
