"""The API's operations, each written once as a function that builds a :class:`~fubble.client._call.Call` (method,
path, query, body and the server's response type). :mod:`fubble.client.resources` binds them into the sync and async
namespaces of :class:`~fubble.client.Client`, :class:`~fubble.client.AsyncClient` and :class:`~fubble.Engine`.

Arguments a route requires are named; every other field of the route's request body is passed by keyword, as the
API spells it, and sent as given (``None`` is sent as ``null``, which clears an optional field in an update).
"""
