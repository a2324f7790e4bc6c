"""A form as it was sent, and why it was refused: the one way every page of the UI shows a refused
form again, with each message beside its own field and every value as it was typed.

A route reads its form with :func:`typed` (each text checked: within its length, storable), calls a
service, and on a refusal renders its page again with ``form=typed.refused(exc, ...)`` and
:data:`REFUSED` as the status. The page's templates show it with the macros of ``_form.html``:
``forms.<name>.value(field, stored)`` is what was typed (or the stored value when the form was not
the one sent), ``described``/``error`` tie a field to its message (``aria-invalid``,
``aria-describedby``), and ``problem`` shows a refusal that no field owns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import Depends
from starlette.datastructures import FormData, ImmutableMultiDict
from starlette.requests import Request

from plainrun.domain import storable
from plainrun.errors import PlainrunError

#: The status of a page that shows a refused form again: the form is there, the value was not taken.
REFUSED = 400
#: The most characters a field takes unless its route says otherwise.
MAX_TEXT = 10_000


@dataclass(frozen=True)
class Typed:
    """The fields of one form as sent (every value of each name, in order), and its refusals."""

    form: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: A refusal no field of the form owns (shown at the top of the form).
    problem: str = ""
    #: True for a form that was sent: its fields are shown as typed, an absent checkbox unticked.
    sent: bool = False

    # --- what the templates read ----------------------------------------------------------------

    def value(self, name: str, stored: object = "") -> str:
        """What was typed into ``name``, or ``stored`` when this form was not the one sent."""
        if self.sent and name in self.values:
            return self.values[name][0]
        return "" if stored is None else str(stored)

    def chosen(self, name: str, value: str, stored: bool = False) -> bool:
        """Whether the checkbox, radio button or option ``value`` of ``name`` is on."""
        if self.sent:
            return value in self.values.get(name, [])
        return stored

    def error(self, name: str) -> str:
        return self.errors.get(name, "")

    @property
    def refused_any(self) -> bool:
        return bool(self.errors or self.problem)

    # --- what the routes use --------------------------------------------------------------------

    def text(self, name: str) -> str:
        """The first value of ``name`` as sent ("" when absent)."""
        found = self.values.get(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def refused(
        self,
        exc: PlainrunError,
        *,
        fields: Mapping[str, str] | Callable[[str, str], str | None] | None = None,
        default: str | None = None,
    ) -> Typed:
        """This form with the refusal ``exc`` set on the field it is about.

        The service names what it refuses first in its details, ``(name, value)``; ``fields`` maps
        that name to the form's field (a mapping, or a function of the name and value returning None
        for what it does not know). A name the form has is its own field; anything else goes to
        ``default`` or, without one, to the whole form.
        """
        named, about = (str(exc.details[0][0]), str(exc.details[0][1])) if exc.details else ("", "")
        target = fields(named, about) if callable(fields) else (fields or {}).get(named)
        if target is None and named in self.values:
            target = named
        target = target or default
        if target is None:
            return replace(self, problem=exc.message)
        return replace(self, errors={**self.errors, target: exc.message})


class Forms:
    """The forms of a page by name (``forms.senders``): the one sent, or an empty one."""

    def __init__(self, sent: Typed | None = None):
        self._sent = sent

    def __getitem__(self, name: str) -> Typed:
        if self._sent is not None and self._sent.form == name:
            return self._sent
        return Typed(form=name)

    def __getattr__(self, name: str) -> Typed:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]


def typed(
    form: str, data: ImmutableMultiDict[str, Any], limits: Mapping[str, int] = {}, *, most: int = MAX_TEXT
) -> Typed:
    """The text fields of ``data`` as :class:`Typed`; a value over its limit (``limits``, else
    ``most`` characters) or that no database keeps is kept as typed and refused with its field's
    own message."""
    values: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for name, value in data.multi_items():
        if not isinstance(value, str) or name == "csrf_token":
            continue
        values.setdefault(name, []).append(value)
        limit = limits.get(name, most)
        why = storable.text_problem(value)
        if why is not None:
            errors.setdefault(name, why[0].upper() + why[1:] + ".")
        elif len(value) > limit:
            errors.setdefault(name, f"At most {limit:,} characters (this is {len(value):,}).")
    return Typed(form=form, values=values, errors=errors, sent=True)


async def _sent(request: Request) -> FormData:
    return await request.form()


#: The form a request sent, read before the route runs (so that the route itself runs in a thread,
#: off the event loop, as every route that calls the services does).
Sent = Annotated[FormData, Depends(_sent)]


def lines(text: str) -> list[str]:
    """A field of one entry a line (commas separate too), each stripped, empty lines left out."""
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
