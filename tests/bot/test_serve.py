"""`backupbot serve` start-up: a refused bot token is one clear line, not a traceback."""

from bot.cli import main


def test_a_refused_bot_token_stops_start_up_with_one_line(
    fake_slack, tmp_path, monkeypatch, capsys
):
    fake_slack.fail_next("auth.test", 200, {"ok": False, "error": "invalid_auth"})
    config = tmp_path / "backupbot.yml"
    config.write_text("storage: {managed: {kind: local, path: %s}}\n" % (tmp_path / "b"))
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-secret-value", "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": f"{fake_slack.url}/api/", "BACKUPBOT_CONFIG": str(config),
        "BACKUPBOT_DATA_DIR": str(tmp_path),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["serve", "--port", "0"]) == 1
    error = capsys.readouterr().err
    assert "auth.test: invalid_auth" in error and "SLACK_BOT_TOKEN" in error
    assert "Traceback" not in error and "xoxb-secret-value" not in error


def test_serve_without_slack_credentials_names_what_is_missing(tmp_path, monkeypatch, capsys):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKUPBOT_DATA_DIR", str(tmp_path))
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN: not set" in error and "SLACK_SIGNING_SECRET: not set" in error
