"""Annotated dependencies shared by every router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from fubble.api.fields import MAX_ID
from fubble.clock import Clock
from fubble.config import Settings

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def get_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Most items to return (1-1000).")] = (
        DEFAULT_PAGE_SIZE
    ),
    offset: Annotated[int, Query(ge=0, le=2**53, description="Items to skip, in the list's stable order.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PageDep = Annotated[Page, Depends(get_page)]


def id_path(description: str) -> object:
    return Path(ge=1, le=MAX_ID, description=description)


CustomerId = Annotated[int, id_path("The customer's id")]
