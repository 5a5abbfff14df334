"""Why is this contact in or out of this segment: each rule, true or false, with the value.

Every rule is evaluated by the database with the very condition the segment query uses (one
query for the contact, one for its linked clients), so the explanation cannot disagree with
the member count. Groups are then combined as the query combines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper
from django.utils.translation import gettext as _

from ..models import Contact, PracticeClient
from .compile import Definition, SegmentCompiler, compiler_for, members
from .describe import rule_words
from .parse import FieldNames
from .vocabulary import display, is_group, op_label


@dataclass
class ClientValue:
    """One linked client's value for a rule (client_scope "any")."""

    name: str
    value: str
    matched: bool
    counted: bool  # False for archived/deleted clients when they do not count

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "matched": self.matched,
            "counted": self.counted,
        }


@dataclass
class RuleResult:
    """One rule: what it asks, the contact's value, and whether it matched."""

    path: str
    field: str
    label: str
    op: str
    op_label: str
    value: str
    matched: bool
    contact_value: str
    clients: list[ClientValue] = field(default_factory=list)
    # The rule in words, as the segment's listing and the Slack bot write it.
    text: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "rule",
            "path": self.path,
            "field": self.field,
            "label": self.label,
            "op": self.op,
            "op_label": self.op_label,
            "value": self.value,
            "text": self.text,
            "matched": self.matched,
            "contact_value": self.contact_value,
            "clients": [c.as_json() for c in self.clients],
        }


@dataclass
class GroupResult:
    """A group of rules combined with ``match`` (all/any)."""

    path: str
    match: str
    children: list[RuleResult | GroupResult]

    @property
    def matched(self) -> bool:
        results = [child.matched for child in self.children]
        if not results:
            return self.match == "all"
        return all(results) if self.match == "all" else any(results)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "group",
            "path": self.path,
            "match": self.match,
            "matched": self.matched,
            "children": [child.as_json() for child in self.children],
        }

    def leaves(self) -> list[RuleResult]:
        found: list[RuleResult] = []
        for child in self.children:
            found.extend(child.leaves() if isinstance(child, GroupResult) else [child])
        return found


@dataclass
class Explanation:
    """The verdict for one contact and the reasons, rule by rule."""

    contact: Contact
    member: bool
    rules_matched: bool
    archived_left_out: bool
    client_scope: str
    root: GroupResult

    @property
    def summary(self) -> str:
        name = str(self.contact)
        if self.member:
            return _("%(name)s is in this segment.") % {"name": name}
        if self.rules_matched and self.archived_left_out:
            return _(
                "%(name)s matches the rules but is left out: all their XPM clients are "
                "archived (add a rule on 'Archived in XPM' to include archived contacts)."
            ) % {"name": name}
        failed = [child for child in self.root.children if not child.matched]
        if self.root.match == "all" and failed:
            rules = "; ".join(_describe(child) for child in failed[:3])
            if len(failed) == 1:
                text = _("%(name)s is not in this segment: %(rules)s does not match.")
            else:
                text = _("%(name)s is not in this segment: %(rules)s do not match.")
            return text % {"name": name, "rules": rules}
        return _("%(name)s is not in this segment: none of the rules match.") % {"name": name}

    def as_json(self) -> dict[str, Any]:
        contact = self.contact
        return {
            "contact": {
                "id": contact.pk,
                "name": str(contact),
                "email": contact.email,
                "client_name": contact.client_name,
                "subscribed": contact.subscribed,
                "is_archived": contact.is_archived,
            },
            "member": self.member,
            "rules_matched": self.rules_matched,
            "archived_left_out": self.archived_left_out,
            "client_scope": self.client_scope,
            "summary": self.summary,
            "root": self.root.as_json(),
        }


def _describe(node: RuleResult | GroupResult) -> str:
    if isinstance(node, RuleResult):
        return f"“{node.text}”"
    inner = ", ".join(_describe(child) for child in node.children)
    return (_("any of (%(rules)s)") if node.match == "any" else _("all of (%(rules)s)")) % {
        "rules": inner
    }


def explain(contact: Contact, definition: Definition, *, today: date | None = None) -> Explanation:
    """Evaluate each rule of ``definition`` for ``contact`` and give the verdict."""
    connection = contact.connection
    compiler = compiler_for(connection, definition, today=today)
    leaves: list[tuple[str, dict]] = []
    _collect(definition.rules, "rules", leaves)

    contact_results = _contact_results(compiler, contact, leaves)
    client_results, clients = _client_results(compiler, contact, leaves)
    names = FieldNames(list(compiler.fields.values()))

    def build(rules: list, path: str, match: str) -> GroupResult:
        children: list[RuleResult | GroupResult] = []
        for index, rule in enumerate(rules or ()):
            if not isinstance(rule, dict):
                continue
            child_path = f"{path}[{index}]"
            if is_group(rule):
                children.append(
                    build(rule.get("rules") or [], f"{child_path}.rules", rule.get("match", "all"))
                )
            else:
                children.append(
                    _rule_result(
                        compiler,
                        contact,
                        rule,
                        child_path,
                        contact_results,
                        client_results,
                        clients,
                        names,
                    )  # fmt: skip
                )
        return GroupResult(path=path, match=match, children=children)

    root = build(definition.rules, "rules", definition.match)
    member = members(connection, definition, today=today).filter(pk=contact.pk).exists()
    archived_left_out = contact.is_archived and not definition.names_archived
    return Explanation(
        contact=contact,
        member=member,
        rules_matched=root.matched,
        archived_left_out=archived_left_out,
        client_scope=definition.client_scope,
        root=root,
    )


def _collect(rules: list, path: str, out: list[tuple[str, dict]]) -> None:
    for index, rule in enumerate(rules or ()):
        if not isinstance(rule, dict):
            continue
        child_path = f"{path}[{index}]"
        if is_group(rule):
            _collect(rule.get("rules") or [], f"{child_path}.rules", out)
        else:
            out.append((child_path, rule))


def _flag(condition) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def _contact_results(
    compiler: SegmentCompiler, contact: Contact, leaves: list[tuple[str, dict]]
) -> dict[str, bool]:
    if not leaves:
        return {}
    names = {f"xpm_rule_{i}": path for i, (path, _rule) in enumerate(leaves)}
    annotations = {
        name: _flag(compiler.leaf(rule)) for name, (_p, rule) in zip(names, leaves, strict=True)
    }
    row = Contact.objects.filter(pk=contact.pk).annotate(**annotations).values(*names).first()
    return {path: bool(row and row[name]) for name, path in names.items()}


def _client_results(
    compiler: SegmentCompiler, contact: Contact, leaves: list[tuple[str, dict]]
) -> tuple[dict[tuple[int, str], bool], list[tuple[PracticeClient, bool]]]:
    per_client = [
        (path, rule)
        for path, rule in leaves
        if compiler.reads_clients(compiler.info(rule.get("field", "")))
    ]
    linked = PracticeClient.objects.filter(contact_links__contact=contact).order_by("name", "pk")
    counted_pks = set(linked.filter(compiler.active_clients_q()).values_list("pk", flat=True))
    clients = [(client, client.pk in counted_pks) for client in linked]
    if not per_client or not clients:
        return {}, clients
    names = {f"xpm_rule_{i}": path for i, (path, _rule) in enumerate(per_client)}
    annotations = {
        name: _flag(compiler.client_condition(rule))
        for name, (_p, rule) in zip(names, per_client, strict=True)
    }
    results: dict[tuple[int, str], bool] = {}
    for row in linked.annotate(**annotations).values("pk", *names):
        for name, path in names.items():
            results[(row["pk"], path)] = bool(row[name])
    return results, clients


def _rule_result(
    compiler: SegmentCompiler,
    contact: Contact,
    rule: dict,
    path: str,
    contact_results: dict[str, bool],
    client_results: dict[tuple[int, str], bool],
    clients: list[tuple[PracticeClient, bool]],
    names: FieldNames,
) -> RuleResult:
    info = compiler.info(rule.get("field", ""))
    op = rule.get("op", "")
    value = rule.get("value")
    shown_value = (
        ", ".join(display(v) for v in value) if isinstance(value, list) else display(value)
    )
    if op in ("within_next_days", "within_last_days"):
        shown_value = _("%(n)s days") % {"n": value}
    if info.builtin:
        contact_value = display(getattr(contact, info.column, None))
    else:
        contact_value = display((contact.data or {}).get(info.key))
    per_client: list[ClientValue] = []
    if compiler.reads_clients(info):
        for client, counted in clients:
            raw = client.name if info.builtin else (client.data or {}).get(info.key)
            per_client.append(
                ClientValue(
                    name=client.name or client.uuid,
                    value=display(raw),
                    matched=client_results.get((client.pk, path), False),
                    counted=counted,
                )
            )
    return RuleResult(
        path=path,
        field=info.key,
        label=str(info.label),
        op=op,
        op_label=op_label(op, info.value_type),
        value=shown_value if op not in ("blank", "not_blank") else "",
        matched=contact_results.get(path, False),
        contact_value=contact_value,
        clients=per_client,
        text=rule_words(rule, {info.key: info}, names=names),
    )
