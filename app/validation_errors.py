"""Request validation errors in words a user can act on: where malformed JSON breaks, and "did you mean".

FastAPI reports malformed JSON as ``{"loc": ["body", 45], "msg": "JSON decode error"}`` (the character
offset shown as if it were a field) and an unknown field only as "Extra inputs are not permitted". Here
the offset becomes a line and a column, and an unknown field gets the closest valid name at its place in
the request model, found by walking the model's annotations along the error's location.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel


def field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "header", "path"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


def line_and_column(document: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset, as JSON parsers and editors count them."""
    position = max(0, min(position, len(document)))
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return line, column


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold: Optional/Union/Annotated opened up."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _step(candidates: list[Any], part: Any) -> list[Any]:
    following: list[Any] = []
    for candidate in candidates:
        origin = typing.get_origin(candidate)
        if isinstance(part, int) and origin in (list, tuple, set, frozenset, Sequence):
            following += [t for arg in typing.get_args(candidate)[:1] for t in _unwrap(arg)]
        elif origin is dict and isinstance(part, str):
            following += _unwrap(typing.get_args(candidate)[1]) if typing.get_args(candidate) else []
        elif isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            field = candidate.model_fields.get(part)
            if field is not None:
                following += _unwrap(field.annotation)
    if not following and isinstance(part, str):
        # pydantic puts a tagged union's tag (or a member's class name) into the location
        following = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel) and _tagged(c, part)]
    return following


def _tagged(model: type[BaseModel], tag: str) -> bool:
    if model.__name__ == tag:
        return True
    for field in model.model_fields.values():
        if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(field.annotation):
            return True
    return False


def valid_names(model: type[BaseModel] | None, parent: Sequence[Any]) -> list[str]:
    """The field names (and aliases) valid at ``parent`` inside ``model``; empty when it can't be told."""
    if model is None:
        return []
    candidates: list[Any] = [model]
    for part in parent:
        candidates = _step(candidates, part)
        if not candidates:
            return []
    names: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, field in candidate.model_fields.items():
                names += [name] + ([field.alias] if field.alias and field.alias != name else [])
    return sorted(set(names))


def describe(errors: Sequence[dict[str, Any]], *, document: Any, model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """Problem ``errors`` entries (field, message, type) for FastAPI's validation errors."""
    described = []
    for error in errors:
        loc = list(error.get("loc", ()))
        kind = error.get("type", "")
        message = str(error.get("msg", ""))
        field = field_path(loc)
        if kind == "json_invalid":
            position = loc[-1] if loc and isinstance(loc[-1], int) else 0
            text = document.decode("utf-8", "replace") if isinstance(document, bytes) else str(document or "")
            line, column = line_and_column(text, position)
            reason = (error.get("ctx") or {}).get("error", "")
            message = f"malformed JSON at line {line}, column {column}" + (f": {reason}" if reason else "")
            field = "body"
        elif kind == "extra_forbidden" and loc and loc[0] == "body":
            name = str(loc[-1])
            choices = valid_names(model, loc[1:-1])
            close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
            message = f"unknown field `{name}`" + (f"; did you mean `{close[0]}`?" if close else "")
            if choices and not close:
                message += f"; valid here: {', '.join(choices)}"
        elif kind in ("union_tag_invalid", "literal_error", "enum"):
            ctx = error.get("ctx") or {}
            given = ctx.get("tag", error.get("input"))
            allowed = re.findall(r"'([^']*)'", str(ctx.get("expected_tags") or ctx.get("expected") or ""))
            close = difflib.get_close_matches(str(given), allowed, n=1, cutoff=0.6) if isinstance(given, str) else []
            if close:
                message += f"; did you mean '{close[0]}'?"
        described.append({"field": field, "message": message, "type": kind})
    return described


def body_model(route: Any) -> type[BaseModel] | None:
    """The pydantic model of a FastAPI route's JSON body, if it has one."""
    body_field = getattr(route, "body_field", None)
    annotation = getattr(getattr(body_field, "field_info", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
