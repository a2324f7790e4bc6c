"""Reading the forms of a page as a browser would: each form's controls, the values it would send,
and the attributes of every element with an id (for the refused-form tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr"})


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    #: What the form would send now, by name (text as shown, ticked boxes, chosen options).
    values: dict[str, list[str]] = field(default_factory=dict)
    #: Every element inside it with an id, and its attributes.
    ids: dict[str, dict[str, str]] = field(default_factory=dict)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.ids: dict[str, dict[str, str]] = {}
        self.texts: dict[str, str] = {}
        self.form: Form | None = None
        self.textarea: tuple[str, list[str]] | None = None
        self.select: str | None = None
        self.options: list[str] = []
        self.open: list[tuple[str, str]] = []  # (tag, id) of elements whose text is gathered

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self.form)
        if "id" in a:
            self.ids[a["id"]] = a
            self.texts[a["id"]] = ""
            if self.form is not None:
                self.form.ids[a["id"]] = a
            if tag not in _VOID:
                self.open.append((tag, a["id"]))
        if self.form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name and not a.get("disabled"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.form.values.setdefault(name, []).append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                self.form.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = (name, [])
        elif tag == "select" and name:
            self.select, self.options = name, []
        elif tag == "option" and self.select:
            self.options.append(a.get("value", ""))
            if "selected" in a:
                self.form.values.setdefault(self.select, []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][0] == tag:
            self.open.pop()
        if self.form is None:
            return
        if tag == "textarea" and self.textarea:
            name, parts = self.textarea
            text = "".join(parts)
            self.form.values.setdefault(name, []).append(text[1:] if text.startswith("\n") else text)
            self.textarea = None
        elif tag == "select" and self.select:
            if self.select not in self.form.values and self.options:  # none chosen: the first
                self.form.values[self.select] = [self.options[0]]
            self.select = None
        elif tag == "form":
            self.form = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.textarea[1].append(data)
        for _, element_id in self.open:
            self.texts[element_id] += data


@dataclass
class Page:
    forms: list[Form]
    #: Every element of the page with an id: its attributes, and its text.
    ids: dict[str, dict[str, str]]
    texts: dict[str, str]

    def form_with(self, element_id: str) -> Form:
        """The form holding the element ``element_id``."""
        found = [f for f in self.forms if element_id in f.ids]
        assert len(found) == 1, f"{len(found)} forms hold #{element_id}"
        return found[0]


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return Page(reader.forms, reader.ids, reader.texts)
