"""The plain-English process language: parser, interpreter and books.

program = parse(source)                       # or ProcessSyntaxError with every issue
ex = Execution.start(program, inputs, files, env)
outcome = ex.run()                            # Succeeded | Paused | Failed
state = ex.to_json()                          # resume later: Execution.from_json(program, state, env)
"""

from plainrun.language.arguments import FieldName
from plainrun.language.books import Library, discover, procedure
from plainrun.language.environment import Environment, SmtpSettings
from plainrun.language.errors import (
    BookDefinitionError,
    BookError,
    ConversionError,
    LanguageError,
    LimitExceeded,
    MissingFact,
    ProcessRuntimeError,
    ProcessSyntaxError,
    StateError,
    SyntaxIssue,
)
from plainrun.language.execution import Execution, email_fact
from plainrun.language.limits import Limits
from plainrun.language.local import LocalEnvironment
from plainrun.language.outcome import Failed, Guidance, Outcome, Paused, Succeeded, WaitForRuns, Waiting
from plainrun.language.program import Program, parse
from plainrun.language.values import NOT_FOUND, Duration, FileRef, Money, Percent

__all__ = [
    "NOT_FOUND",
    "BookDefinitionError",
    "BookError",
    "ConversionError",
    "Duration",
    "Environment",
    "Execution",
    "Failed",
    "FieldName",
    "FileRef",
    "Guidance",
    "LanguageError",
    "Library",
    "LimitExceeded",
    "Limits",
    "LocalEnvironment",
    "MissingFact",
    "Money",
    "Outcome",
    "Paused",
    "Percent",
    "ProcessRuntimeError",
    "ProcessSyntaxError",
    "Program",
    "SmtpSettings",
    "StateError",
    "Succeeded",
    "SyntaxIssue",
    "WaitForRuns",
    "Waiting",
    "discover",
    "email_fact",
    "parse",
    "procedure",
]
