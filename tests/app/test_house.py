"""The house of docs/architecture.md: every module is either an adapter (named for what it
is) or a core the import contracts check, so a new module cannot slip past `make lint`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wagtail_xpm"

# Below everything, with contracts of their own (`http-seam`, `sandbox`, `models`), or not
# Python code of the app at all.
OWN_CONTRACT = re.compile(r"^wagtail_xpm\.(xpm|sandbox|models|migrations|management)(\.|$)")

# Adapters: a feature's admin (views and viewsets), public (visitors' pages), tasks (Huey),
# urls, webhooks (ESPs), the admin's shared base, Wagtail registration, the services facade,
# page features for the firm's site, and the app's own start-up and system checks.
ADAPTER = re.compile(
    r"\.(admin|public|tasks|urls|webhooks)(\.|$)"
    r"|^wagtail_xpm\.(adminkit|templatetags)(\.|$)"
    r"|^wagtail_xpm\.(wagtail_hooks|services|apps|checks|groups)$"
    r"|^wagtail_xpm\.leads\.(pages|blocks|forms|pagecache)$"
    r"|^wagtail_xpm\.consent\.xpm_settings$"
)


def modules() -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            continue  # a package's namespace: its modules are what is classified
        found.append(".".join(parts))
    return sorted(found)


def contract(contract_id: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def listed(module: str, names: list[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def test_every_module_is_an_adapter_or_a_checked_core() -> None:
    cores = contract("cores")["source_modules"]
    unclassified = [
        module
        for module in modules()
        if not OWN_CONTRACT.search(module)
        and not ADAPTER.search(module)
        and not listed(module, cores)
    ]
    assert unclassified == [], (
        "Add each to the `cores` contract in pyproject.toml, or name it as an adapter "
        "(docs/architecture.md)"
    )


def test_no_core_is_named_as_an_adapter() -> None:
    cores = contract("cores")["source_modules"]
    assert [name for name in cores if ADAPTER.search(name)] == []


def test_the_cores_contract_forbids_every_adapter_kind() -> None:
    forbidden = set(contract("cores")["forbidden_modules"])
    assert {"wagtail_xpm.*.admin", "wagtail_xpm.*.public", "wagtail_xpm.*.tasks"} <= forbidden
    adapters = {"wagtail_xpm.services", "wagtail_xpm.adminkit", "wagtail_xpm.wagtail_hooks"}
    assert adapters <= forbidden


def test_no_admin_code_outside_the_features() -> None:
    """Admin views live in each feature's `admin` (docs/architecture.md), not in a `views`
    package or top-level viewset modules."""
    assert not (PACKAGE / "views").exists()
    assert not list(PACKAGE.glob("*viewsets.py"))
    assert not list(PACKAGE.rglob("admin_views.py"))
