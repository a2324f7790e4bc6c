"""The built-in books. Importing this package defines their procedures.

Each module is one book: ``text``, ``numbers``, ``dates``, ``lists``, ``files``, ``excel``, ``documents``,
``jsondata``, ``web`` (HTTP), ``mail`` (SMTP) and ``box`` (a per-agent key-value store). They are
registered through the ``plainrun.books`` entry point exactly like third-party books.
"""

from plainrun.books import box, dates, documents, excel, files, jsondata, lists, mail, numbers, text, web

__all__ = [
    "box",
    "dates",
    "documents",
    "excel",
    "files",
    "jsondata",
    "lists",
    "mail",
    "numbers",
    "text",
    "web",
]
