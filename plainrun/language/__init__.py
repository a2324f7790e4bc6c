"""The plain-English process language: parser, interpreter and books."""

from plainrun.language.errors import ProcessSyntaxError, SyntaxIssue
from plainrun.language.program import Program, parse

__all__ = ["ProcessSyntaxError", "Program", "SyntaxIssue", "parse"]
