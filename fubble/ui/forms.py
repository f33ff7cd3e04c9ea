"""Reading the dashboard's HTML forms (``application/x-www-form-urlencoded``) into the API's own request models, so a
form is checked by exactly the rules of the JSON body it stands for."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from fubble.errors import InvalidInput

MAX_FIELDS = 20
M = TypeVar("M", bound=BaseModel)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (the last value of a repeated one); 422 for a body that is not a form."""
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read (send it as application/x-www-form-urlencoded)") from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise InvalidInput("form fields must not contain NUL characters")
    return dict(pairs)


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def model(cls: type[M], fields: dict[str, Any]) -> M:
    """``cls`` validated from the form's fields (blank fields left out); 422 naming each field that is wrong."""
    given = {name: value for name, value in fields.items() if value != ""}
    try:
        return cls.model_validate(given)
    except ValidationError as exc:
        raise InvalidInput(
            [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)]
        ) from None
