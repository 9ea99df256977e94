"""Write manifests as Helm templates: YAML with Helm actions in marked places.

The Helm layer leaves markers in the synthesized manifests; this writer turns
them into template text:

- `"~raw {{ X }}"` as a value: written unquoted, for numbers, booleans and
  strings that the action itself quotes (`{{ .Values.x | quote }}`).
- `"~block X"` as a value: the YAML of `X` (`toYaml ...`), indented in place.
- a key `"~if COND ~name"`: the entry `name` exists only when COND holds.
- a key `"~with EXPR"` in a mapping: the entries of the map EXPR, merged in.
- a list item with the key `"~if"`: the item exists only when that condition holds.
- a key `"~include COND ~X"` in a mapping, or a list item `{"~include": X, "~if": COND}`:
  when COND holds, the text of `X` (YAML entries or items, e.g. `toYaml .Values.x`),
  indented in place.

Any other string holding `{{` is written double-quoted around the raw action,
so `"{{ include "x.fullname" . }}-backend"` renders to a quoted name.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

ACTION = re.compile(r"{{.*?}}")
RAW = "~raw "
BLOCK = "~block "
IF = "~if "
WITH = "~with "
ITEM_IF = "~if"
INCLUDE = "~include"
IF_NAME_SEPARATOR = " ~"


def raw(action: str) -> str:
    """A value written unquoted: `raw("{{ .Values.x }}")`."""
    return RAW + action


def block(expression: str) -> str:
    """A value replaced by the YAML of `expression`, e.g. `toYaml .Values.x`."""
    return BLOCK + expression


def if_key(condition: str, name: str) -> str:
    """A mapping key whose entry exists only when `condition` holds."""
    return f"{IF}{condition}{IF_NAME_SEPARATOR}{name}"


def with_key(expression: str) -> str:
    """A mapping key that merges the entries of the map `expression`."""
    return WITH + expression


def include_key(condition: str, expression: str) -> str:
    """A mapping key replaced, when `condition` holds, by the entries `expression` writes."""
    return f"{INCLUDE} {condition}{IF_NAME_SEPARATOR}{expression}"


def include_item(condition: str, expression: str) -> dict[str, str]:
    """A list item replaced, when `condition` holds, by the items `expression` writes."""
    return {INCLUDE: expression, ITEM_IF: condition}


def _included(condition: str, expression: str, indent: int) -> list[str]:
    pad = " " * indent
    return [
        f"{pad}{{{{- if {condition} }}}}",
        f"{pad}{{{{- {expression} | nindent {indent} }}}}",
        f"{pad}{{{{- end }}}}",
    ]


def plain_scalar(value: Any) -> str:
    """A scalar (or empty collection) as one line of YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20)
    return text.removesuffix("\n").removesuffix("\n...")


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        if value.startswith(RAW):
            return value.removeprefix(RAW)
        if "{{" in value:
            if re.search(r'["\\]', ACTION.sub("", value)):
                raise ValueError(f"cannot quote template string {value!r}")
            return f'"{value}"'
    return plain_scalar(value)


def _entries(value: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        condition = None
        if key.startswith(INCLUDE + " "):
            condition, expression = key.removeprefix(INCLUDE + " ").split(IF_NAME_SEPARATOR, 1)
            lines.extend(_included(condition, expression, indent))
            continue
        if key.startswith(WITH):
            lines.append(f"{pad}{{{{- with {key.removeprefix(WITH)} }}}}")
            lines.append(f"{pad}{{{{- toYaml . | nindent {indent} }}}}")
            lines.append(f"{pad}{{{{- end }}}}")
            continue
        if key.startswith(IF):
            condition, key = key.removeprefix(IF).split(IF_NAME_SEPARATOR, 1)
            lines.append(f"{pad}{{{{- if {condition} }}}}")
        lines.extend(_entry(key, item, indent))
        if condition is not None:
            lines.append(f"{pad}{{{{- end }}}}")
    return lines


def _entry(key: str, item: Any, indent: int) -> list[str]:
    pad = " " * indent
    name = _scalar(key)
    if isinstance(item, str) and item.startswith(BLOCK):
        return [
            f"{pad}{name}:",
            f"{pad}  {{{{- {item.removeprefix(BLOCK)} | nindent {indent + 2} }}}}",
        ]
    if isinstance(item, dict) and item:
        return [f"{pad}{name}:", *_entries(item, indent + 2)]
    if isinstance(item, list) and item:
        return [f"{pad}{name}:", *_items(item, indent)]
    return [f"{pad}{name}: {_scalar(item)}"]


def _items(values: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in values:
        condition = None
        if isinstance(item, dict) and INCLUDE in item:
            lines.extend(_included(item[ITEM_IF], item[INCLUDE], indent))
            continue
        if isinstance(item, dict) and ITEM_IF in item:
            item = dict(item)
            condition = item.pop(ITEM_IF)
            lines.append(f"{pad}{{{{- if {condition} }}}}")
        if isinstance(item, dict) and item:
            nested = _entries(item, indent + 2)
            if nested[0].lstrip().startswith("{{"):
                raise ValueError(f"the first key of a list item cannot be conditional: {item}")
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        elif isinstance(item, list) and item:
            raise ValueError("lists of lists are not written")
        else:
            lines.append(f"{pad}- {_scalar(item)}")
        if condition is not None:
            lines.append(f"{pad}{{{{- end }}}}")
    return lines


def render(document: dict[str, Any]) -> str:
    """One manifest as template text (no surrounding condition)."""
    return "\n".join(_entries(document, 0)) + "\n"
