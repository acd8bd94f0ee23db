"""Reads a Pulumi stack file (`Pulumi.<stack>.yaml`) into the config the engine passes on.

Every problem a user can cause (a missing, unreadable, non-UTF-8 or malformed file, an unknown
stack name) is a StackFileError (a SettingsError): one line that names the file and what is allowed, exit code 2.
Keys that look like the project's own but sit in another namespace (`qnm:domain`) are not
errors (any provider may own a namespace) but are named by `lookalike_keys` for a warning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from phases.settings import CONFIG_KEYS, NAMESPACE, SettingsError

SECURE_KEY = "secure"
# Namespaces the program reads or Pulumi itself sets; anything else may belong to a provider.
KNOWN_NAMESPACES = (NAMESPACE, "aws", "pulumi", "random")
_SEPARATORS = re.compile(r"[-_.:/ ]+")


class StackFileError(SettingsError):
    """A stack file that cannot be read as one (or a stack with no file): a SettingsError, exit
    code 2, headed by what is wrong rather than as invalid settings."""

    def __init__(self, problems: list[str], heading: str = "invalid stack file"):
        super().__init__(problems)
        self.args = (f"{heading}:\n" + "\n".join(f"  - {problem}" for problem in problems),)


def stack_file_path(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def stack_names(project_dir: Path) -> list[str]:
    """The stacks that exist: one per `Pulumi.<name>.yaml` at the project root."""
    return sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml")
                  for path in project_dir.glob("Pulumi.*.yaml") if path.is_file())


def stack_config_path(project_dir: Path, stack: str, stack_file: Path | None = None) -> Path:
    """The file a stack's config is read from; an unknown stack name lists the stacks there are."""
    if stack_file is not None:
        return stack_file
    path = stack_file_path(project_dir, stack)
    if not path.is_file():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise StackFileError([f"--stack {stack}: no stack file {path.name} in {project_dir}; stacks: {known} "
                              f"(or read another file with --stack-file PATH)"], heading="unknown stack")
    return path


def read_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` map of a stack file. Encrypted values (`{secure: ...}`) stay opaque.

    Raises SettingsError when the file is missing, unreadable or is not a stack file.
    """
    if not path.exists() or path.is_dir():
        raise StackFileError([f"{path.name}: stack file not found at {path}"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        # Pulumi reads stack files as YAML, whose streams are Unicode (YAML 1.2, section 5.2).
        line = error.object[:error.start].count(b"\n") + 1
        raise StackFileError([f"{path.name}: not UTF-8 text (line {line}: byte 0x{error.object[error.start]:02x}, "
                              f"{error.reason}); save the stack file as UTF-8"]) from None
    except OSError as error:
        raise StackFileError([f"{path.name}: cannot read {path} ({error.strerror or error})"]) from None
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        problem = getattr(error, "problem", None) or error.__class__.__name__
        raise StackFileError([f"{path.name}: not valid YAML{line} ({problem}); a stack file holds a "
                              f"'config:' mapping of keys like 'qnom:phase: 1'"]) from None
    if not isinstance(document, dict):
        raise StackFileError([f"{path.name}: a stack file is a mapping with a 'config' key"])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError([f"{path.name}: config: must be a mapping of namespaced keys (qnom:phase: 2)"])
    # Pulumi parses every stack config key as `<namespace>:<name>` and refuses any other
    # (sdk/go/common/resource/config/key.go, ParseKey), so these are errors, not warnings.
    bad_keys = [str(key) for key in config if not isinstance(key, str) or ":" not in key]
    if bad_keys:
        raise StackFileError([f"{path.name}: config.{key}: keys are namespaced, e.g. qnom:phase or aws:region"
                              + _did_you_mean(key) for key in bad_keys])
    return {key: "[secret]" if isinstance(value, dict) and set(value) == {SECURE_KEY} else value
            for key, value in config.items()}


def likely_key(key: str) -> str | None:
    """The `qnom:` key `key` was probably meant to be, when it looks like one of ours in another
    namespace (`qnm:domain`, `qnom-domain`, `QNOM:Domain`); None otherwise."""
    namespace, name = key.split(":", 1) if ":" in key else (_SEPARATORS.split(key, maxsplit=1) + [""])[:2]
    if ":" in key and namespace in KNOWN_NAMESPACES or not name or not _looks_like_namespace(namespace):
        return None
    words = [word for word in _SEPARATORS.split(name) if word]
    name = "".join(words[:1] + [word[:1].upper() + word[1:] for word in words[1:]])
    by_lower = {candidate.lower(): candidate for candidate in CONFIG_KEYS}
    if name.lower() in by_lower:
        return f"{NAMESPACE}:{by_lower[name.lower()]}"
    import difflib  # only for a key that looks misspelt: kept off every plan's start-up

    close = difflib.get_close_matches(name, list(CONFIG_KEYS), n=1, cutoff=0.6)
    return f"{NAMESPACE}:{close[0]}" if close else None


def _looks_like_namespace(word: str) -> bool:
    import difflib  # only for a key in a namespace that is not ours: kept off every plan's start-up

    word = word.lower()
    return NAMESPACE in word or difflib.SequenceMatcher(None, word, NAMESPACE).ratio() >= 0.75


def _did_you_mean(key: Any) -> str:
    likely = likely_key(str(key))
    return f"; did you mean {likely}?" if likely else ""


def lookalike_keys(config: Mapping[str, Any]) -> list[str]:
    """One warning per key in another namespace that looks like one of the project's keys."""
    found = []
    for key in config:
        likely = likely_key(str(key))
        if likely is not None and likely not in config:
            found.append(f"{key}: not read (the project's keys are {NAMESPACE}:...); did you mean {likely}?")
    return found


_CONFIG_LINE = re.compile(r"^config:\s*(#.*)?$")


def set_config_value(path: Path, key: str, value: str) -> str:
    """Writes `key: value` into the stack file's `config:` mapping and returns the new text.

    A line-level edit, so every comment, blank line and the order of the keys stay as they are: an
    existing `key:` line gets the new value (quoted as it was, keeping its trailing comment); a
    missing key is added after the mapping's last line, as a quoted string (Pulumi writes config
    values so). Raises StackFileError when the file has no block
    `config:` mapping to edit (a flow mapping or anchors are not edited by hand).
    """
    text = path.read_text(encoding="utf-8")
    read_stack_config(path)  # the same errors as any command that reads it
    lines = text.splitlines(keepends=True)
    start = next((index for index, line in enumerate(lines) if _CONFIG_LINE.match(line.rstrip("\r\n"))), None)
    if start is None:
        raise StackFileError([f"{path.name}: no block 'config:' mapping to write {key} into"])
    key_line = re.compile(rf"^(\s+){re.escape(key)}:(\s*)(\"[^\"]*\"|'[^']*'|[^#\s][^#]*?)?(\s*#.*)?$")
    last_key, indent, found = start, None, False
    for index in range(start + 1, len(lines)):
        line = lines[index].rstrip("\r\n")
        if line and not line[0].isspace() and not line.startswith("#"):
            break  # the next top-level key: the config mapping ends
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # The mapping's keys sit at its first key's indentation; deeper lines are nested values.
        indent = line[:len(line) - len(line.lstrip())] if indent is None else indent
        match = key_line.match(line)
        if match and match.group(1) == indent:
            written = match.group(3) or ""
            quote = written[0] if written[:1] in ("'", '"') else ""
            lines[index] = f"{indent}{key}: {quote}{value}{quote}{match.group(4) or ''}{lines[index][len(line):]}"
            found = True
            break
        last_key = index
    if not found:
        if not lines[last_key].endswith("\n"):
            lines[last_key] += "\n"
        lines.insert(last_key + 1, f'{indent or "  "}{key}: "{value}"\n')
    updated = "".join(lines)
    path.write_text(updated, encoding="utf-8")
    return updated
