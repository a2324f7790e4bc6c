"""/v2: re-runs, test cases, and test runs of the Test Suite."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from plainrun.domain.runs import Stage
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import Body, BulkResult, BulkRunsRequest, ProcessStage, SpecId
from plainrun.http.api.runs import ERRORS, KEY_REUSED, IdempotencyKey, check_path_id

router = APIRouter(tags=["test suite"], route_class=JsonRoute)


class AddTestCasesRequest(BulkRunsRequest):
    outputs: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=100, description="the outputs that count (default: every output of the run)"
    )


class CaseOutputsRequest(Body):
    outputs: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        max_length=100,
        description="the outputs the case compares: each keeps its expected value, or takes the value "
        "of the run the case was made from",
    )


class AcceptRequest(Body):
    test_run_id: SpecId
    output: str = Field(min_length=1, max_length=100)


class StartTestRunRequest(Body):
    agent_id: SpecId
    process_ids: list[SpecId] = Field(min_length=1, max_length=100)
    stage: ProcessStage = "Published"


class TestCaseResource(BaseModel):
    """A run kept as a test case: its inputs and files, and the outputs it must give."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    process_id: str
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str]
    expected: list[dict[str, Any]]
    source_run_id: str | None
    created_at: str


class TestCaseList(BaseModel):
    __test__ = False
    items: list[TestCaseResource]
    continuation_token: None = None


class AddedCases(BaseModel):
    """Per run id: ``added`` (with ``test_case_id``), ``refused`` (with ``message``) or ``not_found``."""

    results: list[dict[str, str]]


class TestResultResource(BaseModel):
    __test__ = False
    model_config = ConfigDict(extra="forbid")

    test_case_id: str
    process_id: str
    name: str
    run_id: str | None
    status: str
    diff: list[dict[str, Any]] | None


class TestRunResource(BaseModel):
    """A test run; its ``summary`` and ``results`` when one test run is read."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    stage: str
    process_ids: list[str]
    state: str
    created_at: str
    finished_at: str | None
    summary: dict[str, int] | None = None
    results: list[TestResultResource] | None = None


class TestRunList(BaseModel):
    __test__ = False
    items: list[TestRunResource]
    continuation_token: str | None


@router.post(
    "/runs/rerun",
    operation_id="rerun_runs",
    summary="Re-run runs",
    response_model=BulkResult,
    responses={**ERRORS, 422: KEY_REUSED},
    response_class=render.JSON,
)
def rerun(
    body: BulkRunsRequest,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> render.JSON:
    """200 with each id's result; a retry with the same Idempotency-Key gets the first results again."""
    if idempotency_key is None:
        return render.JSON({"results": services.tests.rerun(principal, body.run_ids)})
    results, _ = services.tests.rerun_once(principal, body.run_ids, idempotency_key)
    return render.JSON({"results": results})


@router.post(
    "/test-cases",
    operation_id="add_test_cases",
    response_model=AddedCases,
    responses=ERRORS,
    response_class=render.JSON,
)
def add_test_cases(body: AddTestCasesRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON({"results": services.tests.add_cases(principal, body.run_ids, outputs=body.outputs)})


@router.get(
    "/test-cases",
    operation_id="list_test_cases",
    response_model=TestCaseList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_test_cases(
    services: ServicesDep,
    principal: PrincipalDep,
    process_id: Annotated[str, Query(max_length=64)],
    agent_id: Annotated[str, Query(max_length=64)],
) -> render.JSON:
    cases = services.tests.cases(principal, agent_id=agent_id, process_id=process_id)
    return render.JSON({"items": [render.test_case(c) for c in cases], "continuation_token": None})


@router.delete(
    "/test-cases/{test_case_id}", operation_id="remove_test_case", status_code=204, responses=ERRORS
)
def remove_test_case(test_case_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    services.tests.remove_case(principal, check_path_id(test_case_id, "test_case_id"))
    return Response(status_code=204)


@router.put(
    "/test-cases/{test_case_id}/outputs",
    operation_id="set_test_case_outputs",
    response_model=TestCaseResource,
    summary="Choose the outputs a test case compares",
    responses=ERRORS,
    response_class=render.JSON,
)
def set_outputs(
    test_case_id: str, body: CaseOutputsRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    case = services.tests.compare_outputs(
        principal, check_path_id(test_case_id, "test_case_id"), body.outputs
    )
    return render.JSON(render.test_case(case))


@router.post(
    "/test-cases/{test_case_id}/accept",
    operation_id="accept_actual_value",
    response_model=TestCaseResource,
    summary="Make a test run's actual value of an output the case's expected value",
    responses=ERRORS,
    response_class=render.JSON,
)
def accept(
    test_case_id: str, body: AcceptRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    case = services.tests.accept(
        principal, check_path_id(test_case_id, "test_case_id"), body.test_run_id, body.output
    )
    return render.JSON(render.test_case(case))


@router.post(
    "/test-runs",
    operation_id="start_test_run",
    status_code=201,
    response_model=TestRunResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def start_test_run(body: StartTestRunRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    run, results = services.tests.start(
        principal, agent_id=body.agent_id, process_ids=body.process_ids, stage=Stage(body.stage)
    )
    return render.JSON(render.test_run(run, results), status_code=201)


@router.get(
    "/test-runs",
    operation_id="list_test_runs",
    response_model=TestRunList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_test_runs(
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str, Query(max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> render.JSON:
    page = services.tests.history(principal, agent_id, limit=limit, continuation_token=continuation_token)
    return render.JSON(
        {"items": [render.test_run(r) for r in page.items], "continuation_token": page.continuation_token}
    )


@router.get(
    "/test-runs/{test_run_id}",
    operation_id="get_test_run",
    response_model=TestRunResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_test_run(test_run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(
        render.test_run(*services.tests.get(principal, check_path_id(test_run_id, "test_run_id")))
    )


@router.post(
    "/test-runs/{test_run_id}/stop",
    operation_id="stop_test_run",
    response_model=TestRunResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def stop_test_run(test_run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(
        render.test_run(*services.tests.stop(principal, check_path_id(test_run_id, "test_run_id")))
    )
