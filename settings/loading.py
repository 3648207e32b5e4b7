"""Reading the configuration: the YAML file (repeated keys caught, which YAML would silently
merge) or already-parsed data, validated once into a `Config` or one `ConfigError` that lists every
problem found, a line each, so an operator fixes the whole file in one pass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from settings.checks import cross_checks
from settings.environment import data_dir_from
from settings.errors import ConfigError
from settings.problems import described, problem
from settings.schema import Config


def _validate(
    data: object,
    environ: Mapping[str, str],
    data_dir: Path,
    source: str,
    problems: list[str],
) -> Config:
    if data is None:
        data = {}  # an empty file: every default
    if not isinstance(data, Mapping):
        problems.append(
            f"the top level must be a mapping of keys (timezone, sites, storage, ...), "
            f"got {described(data)}"
        )
        raise ConfigError(problems, source)
    config = None
    try:
        config = Config.model_validate(data, context={"data_dir": data_dir})
    except ValidationError as error:
        problems += [problem(detail) for detail in error.errors()]
    problems += cross_checks(data, environ)
    if problems or config is None:
        # From None: pydantic's own rendering repeats the inputs, which we keep out of logs.
        raise ConfigError(problems, source) from None
    return config


def parse_config(
    data: object,
    environ: Mapping[str, str] = os.environ,
    data_dir: Path | None = None,
) -> Config:
    """The Config for already-parsed YAML `data`, or ConfigError listing every problem.

    `environ` is where the variables named by the file must be set; `data_dir` (by default
    BACKUPBOT_DATA_DIR from `environ`) is where the default local storage lives.
    """
    directory = data_dir if data_dir is not None else data_dir_from(environ)
    return _validate(data, environ, directory, "the configuration", [])


def load_config(path: Path | None, environ: Mapping[str, str] = os.environ) -> Config:
    """The Config in the YAML file at `path`, or ConfigError listing every problem.

    Without `path`, the file BACKUPBOT_CONFIG names; when that is unset too, the defaults (no
    sites, managed storage under the data directory).
    """
    if path is None:
        named = environ.get("BACKUPBOT_CONFIG", "").strip()
        if not named:
            return parse_config({}, environ)
        path = Path(named)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            ["the file does not exist (BACKUPBOT_CONFIG names the configuration file)"], source
        ) from None
    except IsADirectoryError:
        raise ConfigError(["is a directory, not a configuration file"], source) from None
    except UnicodeDecodeError:
        raise ConfigError(["the file is not UTF-8 text"], source) from None
    except OSError as error:
        raise ConfigError([f"the file cannot be read ({error.strerror})"], source) from None
    data, problems = _read_yaml(text, source)
    return _validate(data, environ, data_dir_from(environ), source, problems)


def _read_yaml(text: str, source: str) -> tuple[object, list[str]]:
    """The document in `text` and the keys it gives twice (which YAML would silently merge)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        return loader.construct_document(node), _repeated_keys(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({error.context})" if error.context else ""
        if error.context and error.context_mark and error.context.startswith("while "):
            context = f" ({error.context} that starts on line {error.context_mark.line + 1})"
        raise ConfigError([f"{where}not valid YAML: {error.problem}{context}"], source) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"not valid YAML: {error}"], source) from None
    finally:
        loader.dispose()


def _repeated_keys(root: yaml.Node) -> list[str]:
    problems: list[str] = []
    visited: set[int] = set()

    def visit(node: yaml.Node, path: str) -> None:
        if id(node) in visited:  # an alias: already seen, and possibly recursive
            return
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                name = str(key.value)
                line = key.start_mark.line + 1
                child = f"{path}.{name}" if path else name
                if name in lines:
                    where = (
                        f"on line {line}"
                        if lines[name] == line
                        else f"on lines {lines[name]} and {line}"
                    )
                    problems.append(f"{child}: given twice {where}; YAML would keep only the last")
                else:
                    lines[name] = line
                visit(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                visit(item, f"{path}[{index}]")

    visit(root, "")
    return problems
