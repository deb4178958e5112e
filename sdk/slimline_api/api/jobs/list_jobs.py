import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.list_jobs_status_type_0 import ListJobsStatusType0
from ...models.page_job_read import PageJobRead
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: ListJobsStatusType0 | None | Unset = UNSET,
    updated_since: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    parent_id: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, ListJobsStatusType0):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    json_updated_since: None | str | Unset
    if isinstance(updated_since, Unset):
        json_updated_since = UNSET
    elif isinstance(updated_since, datetime.datetime):
        json_updated_since = updated_since.isoformat()
    else:
        json_updated_since = updated_since
    params["updated_since"] = json_updated_since

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params["limit"] = limit

    json_parent_id: None | str | Unset
    if isinstance(parent_id, Unset):
        json_parent_id = UNSET
    else:
        json_parent_id = parent_id
    params["parent_id"] = json_parent_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageJobRead | Problem | None:
    if response.status_code == 200:
        response_200 = PageJobRead.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageJobRead | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListJobsStatusType0 | None | Unset = UNSET,
    updated_since: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    parent_id: None | str | Unset = UNSET,
) -> Response[PageJobRead | Problem]:
    """List jobs

    Args:
        status (ListJobsStatusType0 | None | Unset):
        updated_since (datetime.datetime | None | Unset): RFC 3339; jobs updated at or after this
            time.
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.
        parent_id (None | str | Unset): The targets of this multi-target job; unset: jobs as
            submitted.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageJobRead | Problem]
    """

    kwargs = _get_kwargs(
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
        parent_id=parent_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: ListJobsStatusType0 | None | Unset = UNSET,
    updated_since: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    parent_id: None | str | Unset = UNSET,
) -> PageJobRead | Problem | None:
    """List jobs

    Args:
        status (ListJobsStatusType0 | None | Unset):
        updated_since (datetime.datetime | None | Unset): RFC 3339; jobs updated at or after this
            time.
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.
        parent_id (None | str | Unset): The targets of this multi-target job; unset: jobs as
            submitted.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageJobRead | Problem
    """

    return sync_detailed(
        client=client,
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
        parent_id=parent_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListJobsStatusType0 | None | Unset = UNSET,
    updated_since: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    parent_id: None | str | Unset = UNSET,
) -> Response[PageJobRead | Problem]:
    """List jobs

    Args:
        status (ListJobsStatusType0 | None | Unset):
        updated_since (datetime.datetime | None | Unset): RFC 3339; jobs updated at or after this
            time.
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.
        parent_id (None | str | Unset): The targets of this multi-target job; unset: jobs as
            submitted.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageJobRead | Problem]
    """

    kwargs = _get_kwargs(
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
        parent_id=parent_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: ListJobsStatusType0 | None | Unset = UNSET,
    updated_since: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    parent_id: None | str | Unset = UNSET,
) -> PageJobRead | Problem | None:
    """List jobs

    Args:
        status (ListJobsStatusType0 | None | Unset):
        updated_since (datetime.datetime | None | Unset): RFC 3339; jobs updated at or after this
            time.
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.
        parent_id (None | str | Unset): The targets of this multi-target job; unset: jobs as
            submitted.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageJobRead | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            updated_since=updated_since,
            cursor=cursor,
            limit=limit,
            parent_id=parent_id,
        )
    ).parsed
