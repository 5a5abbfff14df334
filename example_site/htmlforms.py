"""A tiny HTML form reader for scripted walks through real pages (demo and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)

    def submit_data(self, button_label_contains: str | None = None) -> dict[str, str]:
        data = dict(self.fields)
        if button_label_contains:
            wanted = button_label_contains.lower()
            for name, value, label in self.buttons:
                if wanted in label.lower() or wanted in value.lower():
                    if name:
                        data[name] = value
                    break
            else:
                raise LookupError(f"No button matching {button_label_contains!r}")
        return data


class _FormParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urljoin(self.base_url, a.get("action") or self.base_url)
            self.forms.append(Form(action=action, method=(a.get("method") or "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in {"submit", "button"}:
                self.forms[-1].buttons.append((a["name"], a.get("value", ""), a.get("value", "")))
            elif a.get("type") not in {"checkbox", "radio"} or "checked" in a:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None and self.forms:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, label.strip()))
            self._button = None


def parse_forms(html: str, base_url: str) -> list[Form]:
    parser = _FormParser(base_url)
    parser.feed(html)
    return parser.forms
