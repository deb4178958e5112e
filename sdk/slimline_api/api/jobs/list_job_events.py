from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.event_read import EventRead
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{job_id}/events".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[EventRead] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = EventRead.from_dict(response_200_item_data)

            response_200.append(response_200_item)

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
) -> Response[Problem | list[EventRead]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Response[Problem | list[EventRead]]:
    """Progress events: JSON list, or Server-Sent Events with `Accept: text/event-stream`

     Events with `seq > after`; with `Accept: text/event-stream`, a live Server-Sent Events stream.

    On the stream, a `Last-Event-ID` header (sent by reconnecting clients) replaces `after`. It must be
    an event id this stream sent (ASCII digits, at most 2^63 - 1); anything else is answered with a 422
    `invalid_input` problem before the stream starts. An empty header counts as absent.

    Args:
        job_id (str):
        after (int | Unset): Only events with seq > after. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[EventRead]]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Problem | list[EventRead] | None:
    """Progress events: JSON list, or Server-Sent Events with `Accept: text/event-stream`

     Events with `seq > after`; with `Accept: text/event-stream`, a live Server-Sent Events stream.

    On the stream, a `Last-Event-ID` header (sent by reconnecting clients) replaces `after`. It must be
    an event id this stream sent (ASCII digits, at most 2^63 - 1); anything else is answered with a 422
    `invalid_input` problem before the stream starts. An empty header counts as absent.

    Args:
        job_id (str):
        after (int | Unset): Only events with seq > after. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[EventRead]
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Response[Problem | list[EventRead]]:
    """Progress events: JSON list, or Server-Sent Events with `Accept: text/event-stream`

     Events with `seq > after`; with `Accept: text/event-stream`, a live Server-Sent Events stream.

    On the stream, a `Last-Event-ID` header (sent by reconnecting clients) replaces `after`. It must be
    an event id this stream sent (ASCII digits, at most 2^63 - 1); anything else is answered with a 422
    `invalid_input` problem before the stream starts. An empty header counts as absent.

    Args:
        job_id (str):
        after (int | Unset): Only events with seq > after. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[EventRead]]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Problem | list[EventRead] | None:
    """Progress events: JSON list, or Server-Sent Events with `Accept: text/event-stream`

     Events with `seq > after`; with `Accept: text/event-stream`, a live Server-Sent Events stream.

    On the stream, a `Last-Event-ID` header (sent by reconnecting clients) replaces `after`. It must be
    an event id this stream sent (ASCII digits, at most 2^63 - 1); anything else is answered with a 422
    `invalid_input` problem before the stream starts. An empty header counts as absent.

    Args:
        job_id (str):
        after (int | Unset): Only events with seq > after. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[EventRead]
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            after=after,
            limit=limit,
        )
    ).parsed
