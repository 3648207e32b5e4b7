"""The `backupbot` command line, run as an operator runs it: a real process, real files."""

import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from sandbox.data import SiteData
from sandbox.server import running_sandbox
from storage.database import backup_sqlite, head_revision

ROOT = Path(__file__).resolve().parent.parent


def backupbot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKUPBOT_", "SLACK_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd or ROOT,
        timeout=120,
        check=False,
    )


def test_db_upgrade_creates_the_database_and_is_idempotent(tmp_path):
    env = {"BACKUPBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'bot.db'}"}
    first = backupbot("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert f"is at revision {head_revision()}" in first.stdout
    assert (tmp_path / "db" / "bot.db").exists()
    again = backupbot("db", "upgrade", env=env)
    assert again.returncode == 0
    assert again.stdout == first.stdout


def test_db_upgrade_defaults_to_a_sqlite_file_in_the_data_dir(tmp_path):
    result = backupbot("db", "upgrade", env={"BACKUPBOT_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "backupbot.db").exists()


def test_an_unreachable_database_is_one_clear_line_without_the_password(tmp_path):
    url = "postgresql://bot:s3cr3t-pw@127.0.0.1:1/backupbot"  # nothing listens on port 1
    result = backupbot("db", "upgrade", env={"BACKUPBOT_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("database error:")
    assert "Traceback" not in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout


def test_config_check_accepts_the_example_file():
    env = {"ACME_TOKEN": "x", "ACME_EXT_ID": "x"}
    example = ROOT / "backupbot.example.yml"
    result = backupbot("config", "check", "--file", str(example), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("configuration is valid: 2 site(s)")


def test_a_bad_config_file_names_each_problem_and_exits_2(tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text("timezone: Mars/Olympus\nsites:\n  acme:\n    product: bamboo\n")
    result = backupbot("config", "check", env={"BACKUPBOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert "timezone:" in result.stderr
    assert "sites.acme.product:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [[], ["nonsense"], ["db"]])
def test_usage_mistakes_exit_2_with_a_usage_line(args):
    result = backupbot(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: backupbot")


def test_backup_and_verify_work_against_a_running_sandbox_showing_progress(tmp_path):
    config = tmp_path / "backupbot.yml"
    with running_sandbox(SiteData.generate(5, projects=2, issues=30, spaces=1, pages=10)) as url:
        config.write_text(
            "sites:\n"
            f"  sb-jira: {{product: jira, url: '{url}', email: svc@example.com, token_env: SB}}\n"
        )
        env = {
            "BACKUPBOT_CONFIG": str(config),
            "BACKUPBOT_DATA_DIR": str(tmp_path),
            "SB": "sandbox-token",
        }
        made = backupbot("backup", "sb-jira", env=env)
    assert made.returncode == 0, made.stderr
    backup_id = made.stdout.strip()
    assert re.fullmatch(r"bk-[a-z0-9]{6,10}", backup_id)
    assert f"{backup_id} of sb-jira: Completed: " in made.stderr
    assert "30 issues" in made.stderr
    checked = backupbot("verify", backup_id, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"{backup_id}: verified:")


def test_the_sandbox_command_serves_a_site_on_a_loopback_port():
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sandbox", "--port", "0", "--issues", "5"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        answer = httpx.get(f"{url.group(0)}/rest/api/3/myself", auth=("a@b.c", "sandbox-token"))
        assert answer.status_code == 200
        assert httpx.get(f"{url.group(0)}/rest/api/3/myself").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_restore_previews_then_restores_into_an_empty_site_and_writes_the_id_map(tmp_path):
    config = tmp_path / "backupbot.yml"
    source = SiteData.generate(5, projects=1, issues=12, spaces=1, pages=6)
    with running_sandbox(source) as src, running_sandbox(SiteData.empty(5)) as dst:
        config.write_text(
            "sites:\n"
            f"  src: {{product: jira, url: '{src}', email: svc@example.com, token_env: SB}}\n"
            f"  dst: {{product: jira, url: '{dst}', email: svc@example.com, token_env: SB}}\n"
        )
        env = {
            "BACKUPBOT_CONFIG": str(config),
            "BACKUPBOT_DATA_DIR": str(tmp_path),
            "SB": "sandbox-token",
        }
        backup_id = backupbot("backup", "src", env=env).stdout.strip()
        preview = backupbot("restore", backup_id, "--to", "dst", "--preview", env=env)
        assert preview.returncode == 0, preview.stderr
        assert "issues: 12 to create" in preview.stdout
        assert "Atlassian's reference objective" in preview.stdout
        assert "this deployment's estimate" in preview.stdout
        assert not (tmp_path / "restores").exists()

        done = backupbot("restore", backup_id, "--to", "dst", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert ": Completed: created " in done.stdout
        assert "verification: the restored items match the backup" in done.stdout
        map_path = re.search(r"old -> new ids: (\S+)", done.stdout)
        assert map_path and Path(map_path.group(1)).exists()

        wrong = backupbot("restore", backup_id, "--only", "folder:1", env=env)
        assert wrong.returncode == 2
        assert "--only:" in wrong.stderr and "Traceback" not in wrong.stderr


def test_db_backup_copies_the_sqlite_database_and_never_overwrites_a_file(tmp_path):
    env = {"BACKUPBOT_DATA_DIR": str(tmp_path / "data")}
    assert backupbot("db", "upgrade", env=env).returncode == 0
    copy = tmp_path / "copies" / "bot.db"
    made = backupbot("db", "backup", str(copy), env=env)
    assert made.returncode == 0, made.stderr
    assert f"to {copy} (" in made.stdout
    with sqlite3.connect(copy) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == head_revision()
    again = backupbot("db", "backup", str(copy), env=env)
    assert again.returncode == 2
    assert again.stderr.strip() == f"backupbot: {copy} already exists; name a new file"
    assert not list(copy.parent.glob("*.partial"))


def test_db_backup_of_postgresql_points_to_pg_dump(tmp_path):
    env = {"BACKUPBOT_DATABASE_URL": "postgresql://backupbot:hunter2@127.0.0.1:1/backupbot"}
    refused = backupbot("db", "backup", str(tmp_path / "copy.db"), env=env)
    assert refused.returncode == 2
    assert "not SQLite: back it up with pg_dump" in refused.stderr
    assert "hunter2" not in refused.stdout + refused.stderr
    assert not (tmp_path / "copy.db").exists()


def test_db_backup_without_a_database_says_so_and_creates_nothing(tmp_path):
    env = {"BACKUPBOT_DATA_DIR": str(tmp_path / "nowhere")}
    refused = backupbot("db", "backup", str(tmp_path / "copy.db"), env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"backupbot: there is no database at {tmp_path / 'nowhere' / 'backupbot.db'}: "
        "set BACKUPBOT_DATA_DIR or BACKUPBOT_DATABASE_URL as the bot has them"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_db_backup_into_a_folder_it_cannot_write_says_why(tmp_path):
    env = {"BACKUPBOT_DATA_DIR": str(tmp_path / "data")}
    assert backupbot("db", "upgrade", env=env).returncode == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    refused = backupbot("db", "backup", str(blocker / "copy.db"), env=env)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"backupbot: cannot copy {tmp_path / 'data' / 'backupbot.db'}")
    assert "Traceback" not in refused.stderr


def test_db_backup_is_a_consistent_owner_only_copy_while_the_database_is_written(tmp_path):
    source = tmp_path / "live.db"
    with sqlite3.connect(source) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("CREATE TABLE audit (n INTEGER, padding TEXT)")
    stop = threading.Event()

    def write() -> None:
        with sqlite3.connect(source, timeout=30) as writer:
            n = 0
            while not stop.is_set():
                writer.execute("INSERT INTO audit VALUES (?, ?)", (n, "x" * 500))
                writer.commit()
                n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        copies = [tmp_path / f"copy-{i}.db" for i in range(5)]
        for copy in copies:
            backup_sqlite(f"sqlite:///{source}", copy)
    finally:
        stop.set()
        thread.join()
    for copy in copies:
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            count, top = connection.execute("SELECT count(*), max(n) FROM audit").fetchone()
        assert top is None or count == top + 1  # every committed row up to a point, no gap
        assert copy.stat().st_mode & 0o777 == 0o600


WITHOUT_THE_SANDBOX_EXTRA = (
    "import sys\n"
    "sys.modules['starlette'] = None  # as if the sandbox extra were not installed\n"
    "from cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize("command", [["sandbox", "--port", "0"], ["demo"]])
def test_without_the_sandbox_extra_its_commands_say_what_to_install(command):
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SANDBOX_EXTRA, *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stderr == (
        f"backupbot: {command[0]} runs the sandbox site, which needs the sandbox extra "
        "(starlette is not installed): pip install 'backupbot[sandbox]'\n"
    )


def test_without_the_sandbox_extra_the_bot_s_own_commands_still_run(tmp_path):
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SANDBOX_EXTRA, "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BACKUPBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
