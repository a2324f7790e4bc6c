"""/v2/files: upload targets (a presigned PUT as Kognitos gives, or a presigned POST), the upload
itself, metadata, download."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from python_multipart.multipart import parse_options_header
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from plainrun.errors import InvalidInput
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import CreateFileRequest, FileResource, UploadTarget
from plainrun.http.api.runs import ERRORS, check_path_id
from plainrun.services.files import read_chunks

router = APIRouter(tags=["files"], route_class=JsonRoute)


@router.post(
    "/files",
    operation_id="create_file",
    status_code=201,
    response_model=UploadTarget,
    responses=ERRORS,
    response_class=render.JSON,
)
def create_file(body: CreateFileRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    target = services.files.create_upload(
        principal, agent_id=body.agent_id, name=body.file_name, content_type=body.content_type
    )
    return render.JSON(
        {
            **render.file(target.file),
            "file_name": target.file.name,
            "file_id": target.file.id,
            "upload_url": target.url,
            "upload_http_method": target.method,
            "upload_http_headers": target.headers,
            "upload_fields": target.fields,
        },
        status_code=201,
    )


@router.put(
    "/files/{file_id}/upload",
    operation_id="put_file",
    summary="Receive the file's bytes as the body (the upload URL carries the token), like a presigned PUT",
    status_code=204,
    responses=ERRORS,
)
async def put_file(
    file_id: str, request: Request, services: ServicesDep, token: Annotated[str, Query(max_length=2048)]
) -> Response:
    check_path_id(file_id, "file_id")
    with tempfile.TemporaryFile() as spool:
        async for chunk in request.stream():
            await anyio.to_thread.run_sync(spool.write, chunk)

        def chunks() -> Iterator[bytes]:
            spool.seek(0)
            return read_chunks(spool)

        record = await anyio.to_thread.run_sync(
            lambda: services.files.receive(file_id, token=token, key=None, chunks=chunks())
        )
    return Response(status_code=204, headers={"ETag": f'"{record.sha256}"'})


@router.post(
    "/files/{file_id}/upload",
    operation_id="upload_file",
    summary="Receive a multipart POST of the file (fields from the upload target, then `file`)",
    status_code=204,
    responses=ERRORS,
)
async def upload_file(file_id: str, request: Request, services: ServicesDep) -> Response:
    check_path_id(file_id, "file_id")
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise InvalidInput("The upload must be a multipart/form-data POST, or a PUT of the file's bytes.")
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        token = form.get("token") or request.query_params.get("token")
        key = form.get("key")
        if not isinstance(upload, UploadFile) or not isinstance(token, str):
            raise InvalidInput("The upload needs the target's fields and a `file` part.")

        def chunks() -> Iterator[bytes]:
            upload.file.seek(0)
            return read_chunks(upload.file)

        record = await anyio.to_thread.run_sync(
            lambda: services.files.receive(
                file_id, token=token, key=key if isinstance(key, str) else None, chunks=chunks()
            )
        )
    finally:
        await form.close()
    return Response(status_code=204, headers={"ETag": f'"{record.sha256}"'})


@router.get(
    "/files/{file_id}",
    operation_id="get_file",
    response_model=FileResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_file(file_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(render.file(services.files.get(principal, check_path_id(file_id, "file_id"))))


@router.get(
    "/files/{file_id}/content",
    operation_id="download_file",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file's bytes, with the content type it was uploaded with",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **ERRORS,
    },
)
def download_file(file_id: str, services: ServicesDep, principal: PrincipalDep) -> StreamingResponse:
    record, stream = services.files.open(principal, check_path_id(file_id, "file_id"))

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in iterate_in_threadpool(read_chunks(stream)):
                yield chunk
        finally:
            stream.close()

    return StreamingResponse(
        body(),
        media_type=record.content_type,
        headers={
            "Content-Length": str(record.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(record.name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
