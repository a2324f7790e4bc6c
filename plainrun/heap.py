"""A process's long-lived objects, kept out of the garbage collector's way.

Before it serves, a process of plainrun imports a great deal (SQLAlchemy, FastAPI, pydantic's
models, the books): some 90,000 objects that live as long as it does. Python's cycle collector
walks every object it tracks in each full collection (about 40 ms for those), and a full collection
comes whenever enough new objects have outlived the younger ones, so now and then a request or a
run waits for a walk over objects that will never be garbage. Once a process is ready to serve,
:func:`freeze` collects once and moves every object there is to the permanent generation
(``gc.freeze``), which no collection walks; what the process makes afterwards is collected as
before. In an executor (forked from the fork server) it also leaves the pages it shares with its
parent alone: a collection writes to the header of each object it walks.
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Collect what is garbage now, and exempt every other object from later collections."""
    gc.collect()
    gc.freeze()
