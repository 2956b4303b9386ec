"""Cross-table integrity rules enforced by the database itself.

A CHECK constraint cannot look at another table, so these rules are triggers. Each rule is a
condition on the new row that must never be true; the same SQL condition serves PostgreSQL
(a PL/pgSQL trigger function) and SQLite (a `WHEN` clause). A violation raises an integrity
error, so no code path (ORM, admin, raw SQL, import) can link rows across organisations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    name: str
    table: str
    violation: str  # SQL condition over NEW.* that is true when the row breaks the rule
    message: str


def _org_of(table: str, column: str) -> str:
    return f"(SELECT organization_id FROM {table} WHERE id = NEW.{column})"


RULES: tuple[Rule, ...] = (
    Rule(
        "retro_team_same_org",
        "retros_retrospective",
        f"{_org_of('retros_team', 'team_id')} <> NEW.organization_id",
        "a retrospective and its team must belong to the same organisation",
    ),
    Rule(
        "occurrence_same_org",
        "retros_occurrence",
        f"{_org_of('retros_issue', 'issue_id')} <> NEW.organization_id"
        f" OR {_org_of('retros_retrospective', 'retro_id')} <> NEW.organization_id"
        " OR (SELECT team_id FROM retros_retrospective WHERE id = NEW.retro_id) <> NEW.team_id",
        "an occurrence, its issue and its retrospective must belong to the same organisation",
    ),
    Rule(
        "fix_same_org",
        "retros_fix",
        f"{_org_of('retros_issue', 'issue_id')} <> NEW.organization_id"
        f" OR (NEW.retro_id IS NOT NULL AND"
        f" {_org_of('retros_retrospective', 'retro_id')} <> NEW.organization_id)"
        f" OR (NEW.team_id IS NOT NULL AND {_org_of('retros_team', 'team_id')}"
        " <> NEW.organization_id)",
        "a fix, its issue and its retrospective must belong to the same organisation",
    ),
    Rule(
        "issue_merge_same_org",
        "retros_issue",
        f"NEW.merged_into_id IS NOT NULL AND {_org_of('retros_issue', 'merged_into_id')}"
        " <> NEW.organization_id",
        "an issue can only be merged into an issue of the same organisation",
    ),
    Rule(
        "membership_team_same_org",
        "retros_membership_teams",
        f"{_org_of('retros_team', 'team_id')} <> {_org_of('retros_membership', 'membership_id')}",
        "a person can only join teams of their own organisation",
    ),
)


def install_sql(vendor: str) -> list[str]:
    statements: list[str] = []
    for rule in RULES:
        if vendor == "postgresql":
            statements.append(
                f"CREATE OR REPLACE FUNCTION recur_rule_{rule.name}() RETURNS trigger AS $$\n"
                f"BEGIN\n  IF {rule.violation} THEN\n"
                f"    RAISE EXCEPTION 'integrity rule {rule.name}: {rule.message}'"
                " USING ERRCODE = '23514';\n  END IF;\n  RETURN NEW;\nEND\n$$ LANGUAGE plpgsql;"
            )
            statements.append(
                f"CREATE TRIGGER recur_rule_{rule.name} BEFORE INSERT OR UPDATE ON {rule.table}"
                f" FOR EACH ROW EXECUTE FUNCTION recur_rule_{rule.name}();"
            )
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE"):
                statements.append(
                    f"CREATE TRIGGER recur_rule_{rule.name}_{event.lower()} BEFORE {event}"
                    f" ON {rule.table} FOR EACH ROW WHEN {rule.violation}\n"
                    f"BEGIN SELECT RAISE(ABORT, 'integrity rule {rule.name}: {rule.message}');"
                    " END;"
                )
        else:
            raise NotImplementedError(f"Recur's integrity rules do not support {vendor}.")
    return statements


def remove_sql(vendor: str) -> list[str]:
    statements: list[str] = []
    for rule in RULES:
        if vendor == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS recur_rule_{rule.name} ON {rule.table};")
            statements.append(f"DROP FUNCTION IF EXISTS recur_rule_{rule.name}();")
        else:
            for event in ("insert", "update"):
                statements.append(f"DROP TRIGGER IF EXISTS recur_rule_{rule.name}_{event};")
    return statements


def remove_sqlite_rules(apps: object, schema_editor: Any) -> None:
    """A migration step: on SQLite, the rules' triggers dropped, before a table they read is
    rebuilt (SQLite adds columns and checks by copying the table under another name, and a
    trigger that reads it would fail meanwhile)."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in remove_sql(vendor):
            schema_editor.execute(statement)


def install_sqlite_rules(apps: object, schema_editor: Any) -> None:
    """A migration step: on SQLite, the rules installed again (after a table was rebuilt)."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in remove_sql(vendor) + install_sql(vendor):
            schema_editor.execute(statement)
