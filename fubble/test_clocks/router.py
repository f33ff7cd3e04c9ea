"""HTTP routes of the test clocks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request

from fubble.api.deps import ClockDep, PageDep, SessionDep, SettingsDep, id_path
from fubble.api.routing import commits_its_own_work, new_router
from fubble.errors_doc import responses
from fubble.test_clocks import repository, service
from fubble.test_clocks.advance import advance
from fubble.test_clocks.schemas import TestClockAdvance, TestClockAdvanced, TestClockCreate, TestClockOut

router = new_router("/test-clocks", tag="test clocks")

ATTRIBUTION = ("actor", "api_key_id", "request")
TestClockId = Annotated[int, id_path("The test clock's id")]

CREATE = """
Returns 201 with the clock. A test clock simulates time for rehearsing billing (like Stripe's): create customers with
its `test_clock_id` and they live at the clock's `frozen_time` (subscription starts, trials, cancellations and
statuses default to it), then advance the clock to bill them as time goes by. Billing runs without a test clock never
bill its customers.
"""

ADVANCE = """
Moves the clock forward to `to` (after its `frozen_time`, else 422) and bills its customers, and only them, on the way:
a billing run (trigger `test_clock`, see POST /billing/runs) as of each instant in (frozen_time, to] where their
billing can change, in order (subscription starts, trial ends and ends; every period boundary, in the customer's time
zone; the end of each draft invoice's grace period, which finalizes it), and a last run as of `to`. Invoices are dated
at the clock's time. Answers the clock and `billing_run_ids`.

An advance that would take more than 100 runs is refused (422): advance in smaller jumps. The clock's time moves
step by step, each step committed once its run is done: an interrupted advance leaves the clock at its last completed
step, and advancing again bills the rest (runs never bill a period twice).
"""


@router.post("/", status_code=201, summary="Create a test clock", description=CREATE, responses=responses(422))
def create_test_clock(body: TestClockCreate, session: SessionDep, clock: ClockDep) -> TestClockOut:
    return TestClockOut.of(service.create(session, body, clock=clock))


@router.get("/", summary="List test clocks (by id)", responses=responses(422))
def list_test_clocks(session: SessionDep, page: PageDep) -> list[TestClockOut]:
    return [TestClockOut.of(row) for row in repository.list_page(session, limit=page.limit, offset=page.offset)]


@router.get("/{clock_id}", summary="Get a test clock", responses=responses(404, 422))
def get_test_clock(clock_id: TestClockId, session: SessionDep) -> TestClockOut:
    return TestClockOut.of(service.get(session, clock_id))


@router.post(
    "/{clock_id}/advance",
    summary="Advance a test clock, billing its customers on the way",
    description=ADVANCE,
    responses=responses(404, 422),
)
@commits_its_own_work
def advance_test_clock(
    clock_id: TestClockId,
    body: TestClockAdvance,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TestClockAdvanced:
    # The work commits in transactions of its own (like POST /billing/runs): the request's session is used only
    # afterwards, to answer.
    done = advance(
        request.app.state.db,
        clock_id,
        body.to,
        clock=clock,
        settings=settings,
        info={k: session.info.get(k) for k in ATTRIBUTION},
    )
    row = service.get(session, done.clock_id)
    return TestClockAdvanced(**TestClockOut.of(row).model_dump(), billing_run_ids=done.billing_run_ids)
