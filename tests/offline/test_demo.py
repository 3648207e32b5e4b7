"""`backupbot demo`: the Slack app driven end to end, shown as a transcript, checked by step."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from offline import demo


def test_the_demo_shows_each_step_in_order_exits_0_and_leaves_nothing_behind(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo"],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
        env={**environment, "TMPDIR": str(scratch)},
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    took = re.search(r"\ndemo: OK in (\d+) s$", out.rstrip())
    assert took and int(took[1]) < 120, "the demo must finish within 2 minutes"
    jira, wiki = re.findall(r"Backup (bk-[a-z0-9]+) of `acme-(?:jira|wiki)` is queued", out)
    request = re.search(r"Restore request (rr-[a-z0-9]+) is created", out)[1]
    steps = [
        "alice> /backup now acme-jira",
        "alice> /backup now acme-wiki",
        f"alice> /backup status {jira}",
        "carol> /backup now acme-wiki",
        "needs you to be both an organization admin and a Confluence admin",
        f"alice> /backup restore {wiki} to acme-wiki-test only space:DOCS preview",
        "nothing was changed",
        "alice> /backup list",
        f"alice> /backup restore {jira} to acme-jira-test",
        f"[#backup-approvals] backupbot:\n  🚨 Restore request {request} needs a second admin",
        f"[Approve] -> click approve {request}",
        f"alice> click approve {request}",
        f"You asked for {request} yourself",
        f"bob> click approve {request}",
        "[#backup-approvals] backupbot (edited)",
        "[#backup-approvals thread] backupbot:\n  ▶️ Approved by bob@example.com",
        "[#backup-approvals thread] backupbot:\n  🔄 ",  # progress
        "restored (",
        f"✅ Restore {request}: Completed",
        "Verification: the restored items match the backup",
        "(acme-jira-test, read back over its REST API: projects ENG, MKT, OPS)",
    ]
    at = 0
    for step in steps:
        found = out.find(step, at)
        assert found >= 0, f"{step!r} missing after position {at}:\n{out}"
        at = found
    for backup_id in (jira, wiki):  # each completion notice, with Atlassian's RPO/RTO
        notice = out.split(f"✅ Backup {backup_id} of ", 1)[1].split("\n[", 1)[0]
        assert ": Completed" in notice
        assert "Atlassian's reference objective: RTO 12 hours, RPO 24 hours" in notice
    assert "Traceback" not in out + result.stderr
    # The README's transcript is this output, trimmed: each of its lines is one printed here.
    printed = set(_normalised(out).splitlines())
    for line in _normalised(_readme_transcript()).splitlines():
        assert not line.strip() or line in printed, f"README line not in the demo's output: {line}"
    assert list(tmp_path.iterdir()) == [scratch]  # nothing written where it ran
    assert list(scratch.iterdir()) == []  # its temporary data directory removed


def _readme_transcript() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return readme.split("```text\n", 1)[1].split("```", 1)[0]


def _normalised(text: str) -> str:
    """Ids, numbers and times, which differ from run to run, made alike."""
    text = re.sub(r"\b(bk|rr)-[a-z0-9]+", r"\1-ID", text)
    return re.sub(r"\d+", "N", text)


def test_the_demo_fails_when_a_step_does_not_do_what_it_shows(monkeypatch):
    """Asked to restore the Jira backup into a Confluence site, the bot refuses: the demo must
    show the refusal, say which step failed and exit 1."""
    wrong = {"acme-jira": "acme-wiki-test", "acme-wiki": "acme-wiki-test"}
    monkeypatch.setattr(demo, "RESTORE_TARGETS", wrong)
    out = io.StringIO()
    assert demo.run(out) == 1
    text = out.getvalue()
    assert "alice> /backup restore bk-" in text
    assert re.search(r"demo: FAILED: /backup restore gave no request id; the bot said: .+", text)
    assert "demo: OK" not in text
