"""Turning an operation (a function that builds a :class:`~fubble.client._call.Call`) into a method of a sync or an
async namespace, with the operation's own signature and docstring and the answer's type::

    class Customers(SyncResource):
        get = blocking(ops.customers.get)        # client.customers.get(7) -> CustomerOut

    class AsyncCustomers(AsyncResource):
        get = awaitable(ops.customers.get)       # await client.customers.get(7) -> CustomerOut
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from fubble.client._call import Call

T = TypeVar("T")
P = ParamSpec("P")


class SyncResource:
    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        self._send = send

    def _run(self, call: Call[T]) -> T:
        result: T = self._send(call)
        return result


class AsyncResource:
    def __init__(self, send: Callable[[Call[Any]], Awaitable[Any]]) -> None:
        self._send = send

    async def _run(self, call: Call[T]) -> T:
        result: T = await self._send(call)
        return result


def blocking(operation: Callable[P, Call[T]]) -> Callable[Concatenate[SyncResource, P], T]:
    def method(self: SyncResource, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(operation(*args, **kwargs))

    return _described(method, operation)


def awaitable(operation: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncResource, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncResource, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(operation(*args, **kwargs))

    return _described(method, operation)


M = TypeVar("M", bound=Callable[..., Any])


def _described(method: M, operation: Callable[..., Any]) -> M:
    """``method`` named, documented and signed (for ``help()``) like ``operation``, with ``self`` first; its
    ``operation`` attribute is ``operation``."""
    method.__name__ = operation.__name__.rstrip("_")
    method.__qualname__ = method.__name__
    method.__doc__ = operation.__doc__
    method.operation = operation  # type: ignore[attr-defined]
    signature = inspect.signature(operation)
    own = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[own, *signature.parameters.values()], return_annotation=inspect.Signature.empty
    )
    return method
