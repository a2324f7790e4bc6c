"""Processes: drafts checked as they are saved, published versions, settings, pages, other agents."""

from __future__ import annotations

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.processes import DEFAULT_SETTINGS
from plainrun.domain.runs import Stage
from plainrun.errors import Conflict, InvalidInput, InvalidToken, NotFound, TooLarge
from plainrun.services.access import SYSTEM
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services
from tests.unit.services.conftest import SOURCE, agent_principal, new_process

BROKEN = 'to go\n  the total is\n  say "unterminated\n'


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


def test_a_new_process_is_named_by_its_source_and_carries_every_setting(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme, settings={"on_exception": "fail"})
    assert process.name == "add up an invoice"
    assert process.settings == {**DEFAULT_SETTINGS, "on_exception": "fail"}
    assert (process.draft_revision, process.published_version) == (1, None)
    draft = services.processes.draft(SYSTEM, process.id)
    assert (draft.source, draft.inputs) == (SOURCE, ["amount", "tax"])
    named = new_process(services, acme, name="Invoices", description="adds them up")
    assert (named.name, named.description) == ("Invoices", "adds them up")


def test_a_source_with_syntax_errors_is_refused_with_every_error_at_its_line_and_column(
    services: Services, acme: Agent
) -> None:
    with pytest.raises(ProcessSourceInvalid, match="2 syntax error") as caught:
        new_process(services, acme, source=BROKEN)
    assert [name for name, _ in caught.value.details] == ["line 2, column 15", "line 3, column 7"]
    assert 'after "is"' in str(caught.value.details[0][1])
    assert services.processes.page(SYSTEM, acme.id).items == []


def test_a_source_over_the_bound_or_an_unknown_setting_is_refused(services: Services, acme: Agent) -> None:
    limit = services.settings.max_source_bytes
    padding = "# " + "x" * (limit - len(SOURCE) - 3) + "\n"
    assert new_process(services, acme, source=padding + SOURCE).name == "add up an invoice"  # at the bound
    with pytest.raises(TooLarge):
        new_process(services, acme, source=padding + "#" + SOURCE)
    with pytest.raises(InvalidInput, match="Unknown"):
        new_process(services, acme, settings={"retries": 3})
    with pytest.raises(InvalidInput, match="max_concurrency"):
        new_process(services, acme, settings={"max_concurrency": 0})


def test_saving_a_draft_checks_it_and_keeps_the_last_good_one(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    with pytest.raises(ProcessSourceInvalid):
        services.processes.update_draft(SYSTEM, process.id, source=BROKEN)
    assert services.processes.draft(SYSTEM, process.id).source == SOURCE
    updated = services.processes.update_draft(SYSTEM, process.id, source="to go\n  say the greeting\n")
    assert updated.draft_revision == 2
    assert services.processes.draft(SYSTEM, process.id).inputs == ["greeting"]
    same = services.processes.update_draft(SYSTEM, process.id, source="to go\n  say the greeting\n")
    assert same.draft_revision == 2  # the same text is not a new revision


def test_settings_changes_are_checked_and_merged_into_the_others(services: Services, acme: Agent) -> None:
    process = new_process(services, acme, settings={"timeout_s": 30})
    updated = services.processes.update_draft(SYSTEM, process.id, settings={"max_concurrency": 2})
    assert updated.settings == {**DEFAULT_SETTINGS, "timeout_s": 30, "max_concurrency": 2}
    assert updated.max_concurrent_runs == 2
    with pytest.raises(InvalidInput):
        services.processes.update_draft(SYSTEM, process.id, settings={"on_exception": "ignore"})
    assert services.processes.get(SYSTEM, process.id).settings == updated.settings


def test_publishing_makes_numbered_versions_that_keep_their_text(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    first = services.processes.publish(SYSTEM, process.id)
    services.processes.update_draft(SYSTEM, process.id, source="to go\n  say the greeting\n")
    second = services.processes.publish(SYSTEM, process.id)
    assert (first.version, second.version) == (1, 2)
    assert services.processes.versions(SYSTEM, process.id) == [second, first]  # newest first
    assert services.processes.version(SYSTEM, process.id, 1) == (first, SOURCE)
    with pytest.raises(NotFound, match="version"):
        services.processes.version(SYSTEM, process.id, 3)
    assert services.processes.get(SYSTEM, process.id).published_version == 2
    services.processes.update_draft(SYSTEM, process.id, source=SOURCE)
    current = services.processes.get(SYSTEM, process.id)
    assert services.processes.inputs_of(SYSTEM, current, Stage.PUBLISHED) == ["greeting"]
    assert services.processes.inputs_of(SYSTEM, current, Stage.DRAFT) == ["amount", "tax"]


def test_a_stored_draft_with_syntax_errors_is_not_published(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    services.store.processes.update(process.id, source=BROKEN)
    with pytest.raises(ProcessSourceInvalid) as caught:
        services.processes.publish(SYSTEM, process.id)
    assert len(caught.value.details) == 2
    assert services.processes.versions(SYSTEM, process.id) == []


def test_process_pages_are_newest_first_and_a_token_serves_only_its_agent(
    services: Services, acme: Agent
) -> None:
    made = [new_process(services, acme, name=f"p{n}") for n in range(5)]
    other = services.agents.create(SYSTEM, "other")
    new_process(services, other)
    seen, token = [], None
    while True:
        page = services.processes.page(SYSTEM, acme.id, limit=2, continuation_token=token)
        seen += [p.id for p in page.items]
        if (token := page.continuation_token) is None:
            break
    assert seen == [p.id for p in reversed(made)]
    first = services.processes.page(SYSTEM, acme.id, limit=2).continuation_token
    with pytest.raises(InvalidToken):
        services.processes.page(SYSTEM, other.id, limit=2, continuation_token=first)
    with pytest.raises(InvalidToken):
        services.runs.page(SYSTEM, agent_id=acme.id, process_id=made[0].id, continuation_token=first)


def test_an_agents_key_sees_nothing_of_another_agents_processes(services: Services, acme: Agent) -> None:
    process = new_process(services, acme, publish=True)
    other = services.agents.create(SYSTEM, "other")
    outsider = agent_principal(services, other)
    for act in (
        lambda: services.processes.get(outsider, process.id),
        lambda: services.processes.get(SYSTEM, process.id, other.id),  # named under another agent
        lambda: services.processes.draft(outsider, process.id),
        lambda: services.processes.page(outsider, acme.id),
        lambda: services.processes.update_draft(outsider, process.id, name="mine"),
        lambda: services.processes.publish(outsider, process.id),
        lambda: services.processes.versions(outsider, process.id),
        lambda: services.processes.version(outsider, process.id, 1),
        lambda: services.processes.inputs_of(outsider, process, Stage.PUBLISHED),
        lambda: services.processes.for_run(outsider, process.id, acme.id, Stage.DRAFT),
        lambda: services.processes.create(outsider, agent_id=acme.id, source=SOURCE),
        lambda: services.processes.get(SYSTEM, "0" * 25),
    ):
        with pytest.raises(NotFound):
            act()
    unchanged = services.processes.get(SYSTEM, process.id)
    assert (unchanged.name, unchanged.published_version) == ("add up an invoice", 1)
    assert services.processes.page(outsider, other.id).items == []
    insider = agent_principal(services, acme)
    assert services.processes.update_draft(insider, process.id, name="mine").name == "mine"


def test_names_follow_the_first_line_until_given_and_are_refused_over_the_limit(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme)
    followed = services.processes.update_draft(SYSTEM, process.id, source=SOURCE.replace("add up", "total"))
    assert followed.name == "total an invoice"
    own = services.processes.update_draft(SYSTEM, process.id, name="  Invoice   totals ")
    assert own.name == "Invoice totals"
    kept = services.processes.update_draft(SYSTEM, process.id, source=SOURCE)
    assert kept.name == "Invoice totals"  # a name of its own does not follow the text
    with pytest.raises(InvalidInput) as too_long:
        services.processes.update_draft(SYSTEM, process.id, name="n" * 101)
    assert too_long.value.details == [("name", "at most 100 characters")]
    long_line = "to " + "n" * 101 + "\n  say 1\n"
    with pytest.raises(ProcessSourceInvalid) as refused:
        new_process(services, acme, source=long_line)
    assert (
        refused.value.details[0][0] == "line 1, column 1"
        and "the limit is 100" in refused.value.details[0][1]
    )
    with pytest.raises(Conflict):
        new_process(services, acme, name="invoice  TOTALS")


def test_publishing_an_unchanged_draft_makes_no_version_and_versions_compare_and_restore(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme)
    first = services.processes.publish(SYSTEM, process.id)
    again = services.processes.publish(SYSTEM, process.id)
    assert (first.version, first.created, again.version, again.created) == (1, True, 1, False)
    services.processes.update_draft(SYSTEM, process.id, source=SOURCE + "  say the sum\n")
    assert services.processes.publish(SYSTEM, process.id).version == 2
    lines = services.processes.compare(SYSTEM, process.id, 1, None)
    assert [(d.kind, d.old_number, d.new_number) for d in lines] == [
        ("same", 1, 1),
        ("same", 2, 2),
        ("added", None, 3),
    ]
    restored = services.processes.restore(SYSTEM, process.id, 1)
    assert services.processes.as_draft(restored).source == SOURCE
    assert services.processes.compare(SYSTEM, process.id, 1, None)[-1].kind == "same"
    with pytest.raises(NotFound):
        services.processes.restore(SYSTEM, process.id, 9)


def test_the_editor_is_told_the_errors_and_what_can_be_written(services: Services) -> None:
    assert services.processes.check(SOURCE) == []
    assert services.processes.check(BROKEN)[0][0].startswith("line 2, column")
    words = services.processes.vocabulary("to greet a (guest)\n  the welcome is 1\n  say the \n", 3)
    labels = {p.label: p for p in words.phrases}
    assert labels["greet a (guest)"].origin == "file" and labels["uppercase a (text)"].params == ("text",)
    assert words.facts == ["guest", "welcome"]
