"""The manual run form of a process: the chosen stage's inputs, a name, files. A refused value comes
back in the form, beside its field, with everything else as it was typed; nothing is kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from plainrun.domain.bounds import NAME_MAX
from plainrun.domain.processes import Process
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, TooLarge
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, pages
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services
from plainrun.services.runs import MAX_INPUT_TEXT, RunRequest

router = APIRouter(dependencies=[Depends(check_csrf)])

MAX_UPLOADS = 20


def _page(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    process: Process,
    stage: Stage | None,
    form: Typed | None = None,
) -> Response:
    stages = [Stage.DRAFT, Stage.PUBLISHED] if process.published_version else [Stage.DRAFT]
    stage = stage if stage in stages else stages[-1]
    problems: dict[str, str] = {}
    inputs: dict[str, list[str]] = {}
    for each in stages:
        try:
            inputs[each.value] = services.processes.inputs_of(viewer.principal, process, each)
        except InvalidInput as exc:
            inputs[each.value] = []
            problems[each.value] = exc.message
    return pages(request).render(
        request,
        "run_form.html",
        form=form,
        process=process,
        stage=stage,
        inputs=inputs,
        problems=problems,
        name_max=NAME_MAX,
    )


@router.get("/processes/{process_id}/run")
def run_form(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, stage: Stage | None = None
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    return _page(request, services, viewer, process, stage)


def _stage(form: Typed) -> Stage:
    try:
        return Stage(form.text("stage") or "Draft")
    except ValueError:
        raise InvalidInput(
            "Choose the Draft or the Published stage.", details=[("stage", "unknown")]
        ) from None


def _run_request(form: Typed, process: Process, stage: Stage) -> RunRequest:
    # Each stage's inputs are fields of their own (input:<stage>:<name>): only the chosen stage's count.
    prefix = f"input:{stage.value}:"
    inputs = [
        {"name": key.removeprefix(prefix), "value": values[0]}
        for key, values in form.values.items()
        if key.startswith(prefix) and values[0] != ""
    ]
    return RunRequest(
        agent_id=process.agent_id,
        process_id=process.id,
        stage=stage,
        name=form.text("name").strip() or f"manual run of {process.name}"[:NAME_MAX],
        inputs=inputs,
        trigger=Trigger.MANUAL,
        on_exception="fail" if form.text("fail_fast") else None,
    )


def _uploads(data: FormData) -> list[UploadFile]:
    chosen = [f for f in data.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(chosen) > MAX_UPLOADS:
        raise InvalidInput(
            f"A run takes at most {MAX_UPLOADS} files from this form.", details=[("files", "")]
        )
    return chosen


def _upload(services: Services, viewer: ViewerDep, process: Process, uploads: list[UploadFile]) -> list[str]:
    return [
        services.files.put(
            viewer.principal,
            agent_id=process.agent_id,
            name=upload.filename or "file",
            content_type=upload.content_type or "application/octet-stream",
            data=upload.file.read(),
        ).id
        for upload in uploads
    ]


# The path ends in /upload so that the upload bound (not the JSON body bound) applies to it.
@router.post("/processes/{process_id}/upload")
def start_run(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("run", data, {"name": NAME_MAX}, most=MAX_INPUT_TEXT)
    process = services.processes.get(viewer.principal, process_id)
    stage: Stage | None = None
    try:
        stage = _stage(form)
        if form.errors:
            return _page(request, services, viewer, process, stage, form)
        uploads = _uploads(data)
        wanted = _run_request(form, process, stage)
        services.runs.prepare(viewer.principal, wanted)  # every check before a file is kept
        file_ids = _upload(services, viewer, process, uploads)
        run = services.runs.start(viewer.principal, replace(wanted, file_ids=file_ids))
    except ProcessSourceInvalid as exc:
        details = "; ".join(f"{where}: {what}" for where, what in exc.details[:5])
        refusal = InvalidInput(f"{exc.message} {details}".strip(), details=[("stage", "")])
        return _page(request, services, viewer, process, stage, form.refused(refusal))
    except TooLarge as exc:
        return _page(request, services, viewer, process, stage, form.refused(exc, default="files"))
    except InvalidInput as exc:
        return _page(request, services, viewer, process, stage, form.refused(exc, fields=_field(stage)))
    return RedirectResponse(f"{UI}/runs/{run.id}", status_code=303)


def _field(stage: Stage | None) -> Callable[[str, str], str | None]:
    """Which field of the run form a refusal is about: an input's (the services name it), the
    files', or the stage's."""

    def field(name: str, value: str) -> str | None:
        if name == "name" and stage is not None:
            return f"input:{stage.value}:{value}"
        if name in ("file_id", "files"):
            return "files"
        if name in ("stage", "process_id"):
            return "stage"
        return None

    return field
