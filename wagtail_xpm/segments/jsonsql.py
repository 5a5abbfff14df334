"""JSON values read the same way on SQLite and PostgreSQL: one key of a JSON column as text,
as a number, as true/false, or "does the list there have one of these items".

Used by the segment query (:mod:`.compile`) and by the field catalogue (the values synced for a
field). Keys are passed as parameters and always quoted, never spliced into SQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db.models import BooleanField, F, FloatField, Func, TextField


def sqlite_json_path(key: str) -> str:
    """SQLite's JSON path to one top-level key (``$."key"``), always quoted, so a key that
    looks like an index or holds dots or quotes still names exactly that member."""
    return "$." + json.dumps(key)


# --- reading JSON values the same way on both backends --------------------------------------


class _JsonKey(Func):
    """Base for functions of one key of a JSON column (``key`` is passed as a parameter)."""

    def __init__(self, json_field: str | Any, key: str, **extra: Any) -> None:
        super().__init__(F(json_field) if isinstance(json_field, str) else json_field, **extra)
        self.key = key

    def _lhs(self, compiler, connection) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)

    def as_sql(self, compiler, connection, **extra_context):  # other backends
        raise NotImplementedError(
            f"wagtail_xpm segments support SQLite and PostgreSQL, not {connection.vendor}"
        )


class JsonText(_JsonKey):
    """The value at ``key`` as SQL text (numbers as numbers on SQLite); NULL when missing or
    JSON null. Lists and objects come back as JSON text."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        return f"JSON_EXTRACT({lhs}, %s)", (*params, sqlite_json_path(self.key))

    def as_postgresql(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        return f"({lhs} ->> %s)", (*params, self.key)


class JsonNumber(_JsonKey):
    """The value at ``key`` when it is a JSON number, else NULL (never a cast error)."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        path = sqlite_json_path(self.key)
        return (
            f"(CASE WHEN JSON_TYPE({lhs}, %s) IN ('integer', 'real') "
            f"THEN JSON_EXTRACT({lhs}, %s) END)"
        ), (*params, path, *params, path)

    def as_postgresql(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        return (
            f"(CASE WHEN jsonb_typeof({lhs} -> %s) = 'number' "
            f"THEN ({lhs} ->> %s)::double precision END)"
        ), (*params, self.key, *params, self.key)


class JsonBoolean(_JsonKey):
    """The value at ``key`` when it is JSON true/false, else NULL."""

    output_field = BooleanField()

    def as_sqlite(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        return (
            f"(CASE JSON_TYPE({lhs}, %s) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)",
            (*params, sqlite_json_path(self.key)),
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        return (
            f"(CASE WHEN jsonb_typeof({lhs} -> %s) = 'boolean' THEN ({lhs} ->> %s)::boolean END)",
            (*params, self.key, *params, self.key),
        )


class JsonListHas(_JsonKey):
    """True when the list at ``key`` (or a single value there) has an item equal to one of
    ``values``, trimmed and case-insensitively. Always true or false, never NULL."""

    output_field = BooleanField()

    def __init__(self, json_field: str | Any, key: str, values: Sequence[Any]) -> None:
        super().__init__(json_field, key)
        self.values = [str(v).strip() for v in values]

    def _wanted(self) -> tuple[str, list[str]]:
        return ", ".join(["LOWER(%s)"] * len(self.values)), list(self.values)

    def as_sqlite(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        wanted, values = self._wanted()
        # Only compiled column SQL and placeholders go into the text; values are parameters.
        return (
            f"EXISTS (SELECT 1 FROM JSON_EACH({lhs}, %s) AS xpm_item "  # noqa: S608
            f"WHERE LOWER(TRIM(xpm_item.value)) IN ({wanted}))"
        ), (*params, sqlite_json_path(self.key), *values)

    def as_postgresql(self, compiler, connection, **extra_context):
        lhs, params = self._lhs(compiler, connection)
        wanted, values = self._wanted()
        return (
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text("  # noqa: S608
            f"CASE WHEN jsonb_typeof({lhs} -> %s) = 'array' THEN {lhs} -> %s "
            f"ELSE jsonb_build_array({lhs} -> %s) END) AS xpm_item(value) "
            f"WHERE LOWER(TRIM(xpm_item.value)) IN ({wanted}))"
        ), (*params, self.key, *params, self.key, *params, self.key, *values)
