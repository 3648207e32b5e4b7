"""Every code block of the README is executed or checked against the code, so none can drift:
commands parse with the real command line (and the safe ones run), configuration blocks load,
IAM policies parse and say what the text says, tables list exactly what the code accepts."""

import os
import re
import shlex
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from bot.app import HEALTH_PATH
from cli.main import _parser as cli_parser
from commands.grammar import Vocabulary, parse
from commands.usage import overview
from offline.console import CONSOLE_WORDS
from offline.playground import PEOPLE, playground_config
from policy.objectives import REFERENCE_TABLE, ObjectiveKind
from policy.products import Product
from policy.roles import REQUIREMENTS, Activity, Requirement
from policy.sizes import parse_size
from sandbox.server import _parser as sandbox_parser
from settings import environment as environment_module
from settings.errors import ConfigError
from settings.loading import parse_config
from settings.schema import Config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCK = re.compile(r"^```([a-z]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
CHECKED_LANGUAGES = {"sh", "text", "yaml", "json"}


def blocks(language: str | None = None, under: str | None = None) -> list[str]:
    """The README's code blocks (of one language; under one heading, up to the next)."""
    text = TEXT
    if under is not None:
        text = text.split(f"{under}\n", 1)[1]
        text = re.split(r"^#{2,3} ", text, maxsplit=1, flags=re.MULTILINE)[0]
    return [body for lang, body in BLOCK.findall(text) if language in (None, lang)]


def table(under: str) -> list[list[str]]:
    """The body rows of the first table under a heading, as cells."""
    lines = TEXT.split(f"{under}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:  # after the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def commands(block: str) -> list[list[str]]:
    """The command lines of a shell block, as words, comments dropped."""
    return [
        shlex.split(line, comments=True)
        for line in block.splitlines()
        if line.split("#")[0].strip()
    ]


# --- every block is of a kind checked here ------------------------------------------------------


def test_every_code_block_names_a_language_these_tests_check():
    languages = [lang for lang, _ in BLOCK.findall(TEXT)]
    assert languages and set(languages) <= CHECKED_LANGUAGES, languages


# --- shell blocks -------------------------------------------------------------------------------


def _makefile_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))


def _variables_the_code_reads() -> set[str]:
    source = Path(environment_module.__file__).read_text()
    named_by_config = set(
        re.findall(r"_env: ([A-Z][A-Z0-9_]+)", (ROOT / "backupbot.example.yml").read_text())
    )
    return set(re.findall(r'"((?:SLACK|BACKUPBOT)_[A-Z_]+)"', source)) | named_by_config


@pytest.mark.parametrize("line", [w for b in blocks("sh") for w in commands(b)], ids=" ".join)
def test_every_shell_command_is_one_the_project_accepts(line):
    program, *words = line
    if program == "make":
        assert set(words) <= _makefile_targets(), words
    elif program == "export":
        name = words[0].split("=", 1)[0]
        assert name in _variables_the_code_reads(), f"{name} is read by nothing"
    elif program == "cp":
        assert (ROOT / words[0]).is_file(), f"{words[0]} is not in the repository"
    elif program == "curl":
        url = next(w for w in words if w.startswith("http"))
        assert url.endswith(HEALTH_PATH)
    else:
        assert Path(program).name == "backupbot", f"unknown program {program}"
        if words[0] == "sandbox":
            sandbox_parser().parse_args(words[1:])
        else:
            cli_parser().parse_args(words)  # exits, failing the test, on a wrong option


def test_the_set_up_commands_are_make_demo_and_make_test():
    block = blocks("sh", under="## Set up and try it")[0]
    assert [words[:2] for words in commands(block)] == [["make", "demo"], ["make", "test"]]


def test_the_environment_block_runs_as_written_and_checks_the_example_config(tmp_path):
    """The deploy guide's copy of the example, its exports and `config check`, run by a shell
    in a fresh folder holding only the example file."""
    block = blocks("sh", under="### 2. Environment variables")[0]
    (tmp_path / "backupbot.example.yml").write_text((ROOT / "backupbot.example.yml").read_text())
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKUPBOT_", "SLACK_"))
    }
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    done = subprocess.run(
        ["bash", "-euc", block], capture_output=True, text=True, cwd=tmp_path, env=environment,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("configuration is valid: 2 site(s), 2 storage location(s)")
    assert (tmp_path / "backupbot.yml").is_file()


def test_the_sqlite_backup_command_of_the_production_section_runs(tmp_path):
    block = blocks("sh", under="### 7. Running in production")[1]
    backup = next(words for words in commands(block) if words[:3] == ["backupbot", "db", "backup"])
    target = tmp_path / Path(backup[3]).name
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKUPBOT_", "SLACK_"))
    }
    environment["BACKUPBOT_DATA_DIR"] = str(tmp_path / "data")
    run = [sys.executable, "-m", "cli.main"]
    for words in (["db", "upgrade"], ["db", "backup", str(target)]):
        done = subprocess.run([*run, *words], capture_output=True, text=True, env=environment,
                              cwd=tmp_path, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert target.stat().st_size > 0


# --- configuration blocks -----------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks("yaml"), ids=lambda b: b.splitlines()[0])
def test_every_configuration_block_loads(block, tmp_path):
    variables = {"ACME_TOKEN": "token", "ACME_EXT_ID": "external-id"}
    config = parse_config(yaml.safe_load(block), variables, tmp_path)
    assert config.sites, "a configuration block without a site shows nothing"


def test_a_configuration_block_with_a_mistake_would_be_refused(tmp_path):
    """The check above is not vacuous: the same block with a wrong key fails to load."""
    wrong = yaml.safe_load(blocks("yaml")[0])
    wrong["sites"]["acme-jira"]["tokn_env"] = wrong["sites"]["acme-jira"].pop("token_env")
    with pytest.raises(ConfigError):
        parse_config(wrong, {"ACME_TOKEN": "token"}, tmp_path)


def _key_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key a configuration may hold, `<name>` standing for a name the admin chooses."""
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        for kind in _models_in(field.annotation):
            inner = f"{prefix}{name}."
            if typing.get_origin(field.annotation) is dict:
                inner += "<name>."
            paths |= _key_paths(kind, inner)
        if not _models_in(field.annotation):
            paths.add(f"{prefix}{name}")
    return paths


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def test_the_configuration_table_lists_exactly_the_keys_the_configuration_accepts():
    listed = {row[0].strip("`") for row in table("### 3. The configuration file")}
    assert listed == _key_paths(Config)


def test_the_environment_table_lists_exactly_the_variables_the_bot_reads():
    listed = {row[0].strip("`") for row in table("### 2. Environment variables")}
    source = Path(environment_module.__file__).read_text()
    assert listed == set(re.findall(r'"((?:SLACK|BACKUPBOT)_[A-Z_]+)"', source))


# --- IAM policies: tests/storage/test_s3_iam_policy.py reads them from here and tries them --------


# --- tables ---------------------------------------------------------------------------------------


def test_the_rules_table_is_the_policy_s_requirements():
    words = {
        "anyone": Requirement.NOTHING,
        "an organization admin or an admin of the app concerned": Requirement.EITHER_ROLE,
        "an organization admin **and** an admin of the app concerned": Requirement.BOTH_ROLES,
        "an organization admin": Requirement.ORG_ADMIN,
    }
    listed = {}
    for who_may, requirement in ((row[1], row[0]) for row in table("## The rules it enforces")):
        for name in re.findall(r"`(\w+)`|(Approve|Reject)", requirement):
            listed[Activity("".join(name).lower())] = words[who_may]
    assert listed == REQUIREMENTS


def test_the_reference_objective_table_is_the_policy_s():
    section = TEXT.split("**Atlassian's reference objective**", 1)[1]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:4]]
    kinds = (ObjectiveKind.RTO, ObjectiveKind.RPO)
    hours = {kind: int(re.search(r"(\d+) h", header[i])[1]) for i, kind in enumerate(kinds, 1)}
    assert {Product(row[0].lower()) for row in rows} == set(REFERENCE_TABLE)
    for app, *cells in rows:
        for kind, cell in zip(kinds, cells, strict=True):
            data, attachments = re.findall(r"≤ ([\d.]+ [GT]B)", cell)
            row = REFERENCE_TABLE[Product(app.lower())][kind]
            shown = (parse_size(data), parse_size(attachments), hours[kind])
            assert shown == (row.max_data_bytes, row.max_attachment_bytes, row.hours), (app, kind)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_console_table_lists_the_console_s_own_commands():
    listed = {row[0].strip("`").split()[0] for row in table("## Chat with it in a terminal")}
    listed |= {"quit"}  # listed with help: "`help`, `quit`"
    assert {w.strip("`,") for w in listed} == {"/backup", *CONSOLE_WORDS}


def test_the_scopes_the_readme_names_are_the_manifest_s():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    section = TEXT.split("### 1. The Slack app\n", 1)[1].split("\n2. ", 1)[0]
    sentence = re.search(r"asks for the (.*?) scopes", section, re.DOTALL)
    assert sentence, "the Slack app step names no scopes"
    named = set(re.findall(r"`([a-z:.]+)`", sentence[1]))
    assert named == set(manifest["oauth_config"]["scopes"]["bot"])


# --- text blocks --------------------------------------------------------------------------------


def test_the_command_reference_is_the_grammars_usage():
    assert blocks("text", under="## The /backup commands")[0].strip() == overview()


def test_every_directory_of_the_layout_exists():
    for line in blocks("text", under="## Layout")[0].splitlines():
        for word in line.split():
            if re.fullmatch(r"[a-z_]+/", word):  # the folders named before each description
                assert (ROOT / word).is_dir(), word


def test_the_transcript_types_only_what_the_bot_and_the_console_accept(tmp_path):
    transcript = blocks("text")[0]
    config = parse_config(
        playground_config("http://127.0.0.1:1", "http://127.0.0.1:2", tmp_path),
        {"SANDBOX_API_TOKEN": "t"},
        tmp_path,
    )
    vocabulary = Vocabulary({n: s.product for n, s in config.sites.items()}, tuple(config.storage))
    typed = re.findall(r"^(\w+)> (.*)$", transcript, re.MULTILINE)
    assert len(typed) >= 4
    for person, line in typed:
        assert person in {p.name for p in PEOPLE}
        if line.startswith("/backup "):
            parse(line.removeprefix("/backup "), vocabulary)
        else:
            assert re.fullmatch(r"click (approve|reject) rr-[a-z0-9]+", line), line
