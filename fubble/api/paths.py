"""Path convertors shared by the routers.

``{name:path}`` (Starlette's) also matches the empty string, so ``PUT /metrics/`` reached ``PUT /metrics/{metric}``
with an empty ``metric`` (a 422) instead of being a 405 (``/metrics/`` serves GET and POST only). ``{name:rest}``
matches one or more characters, slashes included.
"""

from __future__ import annotations

from starlette.convertors import PathConvertor, register_url_convertor


class RestConvertor(PathConvertor):
    regex = ".+"


register_url_convertor("rest", RestConvertor())
