from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.chunked_upload_complete import ChunkedUploadComplete
from ...models.dataset_read import DatasetRead
from ...models.model_read import ModelRead
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    upload_id: str,
    *,
    body: ChunkedUploadComplete,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/uploads/{upload_id}/complete".format(
            upload_id=quote(str(upload_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DatasetRead | ModelRead | Problem | None:
    if response.status_code == 201:

        def _parse_response_201(data: object) -> DatasetRead | ModelRead:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_201_type_0 = ModelRead.from_dict(data)

                return response_201_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_201_type_1 = DatasetRead.from_dict(data)

            return response_201_type_1

        response_201 = _parse_response_201(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())

        return response_408

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 410:
        response_410 = Problem.from_dict(response.json())

        return response_410

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if response.status_code == 507:
        response_507 = Problem.from_dict(response.json())

        return response_507

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DatasetRead | ModelRead | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    upload_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChunkedUploadComplete,
) -> Response[DatasetRead | ModelRead | Problem]:
    """Complete a chunked upload into a model or dataset

     Assemble the parts, check the SHA-256 of the whole, then validate and record it like a direct
    upload.

    Completing again after success answers 200 with the same model or dataset.

    Args:
        upload_id (str):
        body (ChunkedUploadComplete):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DatasetRead | ModelRead | Problem]
    """

    kwargs = _get_kwargs(
        upload_id=upload_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    upload_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChunkedUploadComplete,
) -> DatasetRead | ModelRead | Problem | None:
    """Complete a chunked upload into a model or dataset

     Assemble the parts, check the SHA-256 of the whole, then validate and record it like a direct
    upload.

    Completing again after success answers 200 with the same model or dataset.

    Args:
        upload_id (str):
        body (ChunkedUploadComplete):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DatasetRead | ModelRead | Problem
    """

    return sync_detailed(
        upload_id=upload_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    upload_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChunkedUploadComplete,
) -> Response[DatasetRead | ModelRead | Problem]:
    """Complete a chunked upload into a model or dataset

     Assemble the parts, check the SHA-256 of the whole, then validate and record it like a direct
    upload.

    Completing again after success answers 200 with the same model or dataset.

    Args:
        upload_id (str):
        body (ChunkedUploadComplete):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DatasetRead | ModelRead | Problem]
    """

    kwargs = _get_kwargs(
        upload_id=upload_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    upload_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChunkedUploadComplete,
) -> DatasetRead | ModelRead | Problem | None:
    """Complete a chunked upload into a model or dataset

     Assemble the parts, check the SHA-256 of the whole, then validate and record it like a direct
    upload.

    Completing again after success answers 200 with the same model or dataset.

    Args:
        upload_id (str):
        body (ChunkedUploadComplete):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DatasetRead | ModelRead | Problem
    """

    return (
        await asyncio_detailed(
            upload_id=upload_id,
            client=client,
            body=body,
        )
    ).parsed
