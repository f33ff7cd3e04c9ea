"""HTTP routes of the billing runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request

from fubble.api.deps import ClockDep, PageDep, SessionDep, SettingsDep, id_path
from fubble.api.routing import commits_its_own_work, new_router
from fubble.billing_runs import repository, service
from fubble.billing_runs.job import run_billing
from fubble.billing_runs.schemas import RunCreate, RunOut
from fubble.errors import NotFound
from fubble.errors_doc import responses

router = new_router("/billing", tag="billing runs")

ATTRIBUTION = ("actor", "api_key_id", "request")
RunId = Annotated[int, id_path("The billing run's id")]

DESCRIPTION = """
Bill every billing period that has ended by `as_of` (default now) and is not invoiced yet, for every subscription of
every customer (customers on a test clock are billed by advancing their clock instead). One invoice per customer and
period end; subscriptions whose periods end at the same instant share it. Fixed fees of plans with `fees_in_advance`
are due when their period starts, on the invoice of the previous period's end.

Each new invoice is finalized (`pending`) when its grace period is already over as of `as_of`
(`FUBBLE_GRACE_PERIOD_HOURS`, default 0, or the customer's `invoice_grace_period_hours`, counted from the period's
end); otherwise it stays a draft that later runs refresh with late usage and finalize once the grace is over.

Runs are safe to repeat and to run at once: each period of a subscription is invoiced at most once (a unique index on
billing coverage), customers are billed in batches of 500, each batch committed with the run's figures, and
concurrent runs wait for each other customer by customer. An interrupted run keeps the batches it committed (its
`finished_at` stays null); the next run bills the rest. `fubble serve` starts a run every
`FUBBLE_BILLING_INTERVAL_SECONDS` (60; 0 turns it off).
"""


@router.post(
    "/runs",
    summary="Run billing as of an instant",
    description=DESCRIPTION,
    responses=responses(422),
)
@commits_its_own_work
def create_run(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    body: Annotated[RunCreate | None, Body(description="Optional; `{}` or no body bills as of now.")] = None,
) -> RunOut:
    now = clock.now()
    as_of = body.as_of if body is not None and body.as_of is not None else now
    service.check_as_of(as_of, now)
    run_id = run_billing(
        request.app.state.db,
        as_of=as_of,
        trigger="api",
        clock=clock,
        settings=settings,
        info={k: session.info.get(k) for k in ATTRIBUTION},
    )
    return _out(session, run_id)


@router.get("/runs", summary="List billing runs (newest first)", responses=responses(422))
def list_runs(session: SessionDep, page: PageDep) -> list[RunOut]:
    runs = repository.list_page(session, limit=page.limit, offset=page.offset)
    ids = repository.invoice_ids(session, [run.id for run in runs])
    return [RunOut.of(run, ids[run.id]) for run in runs]


@router.get("/runs/{run_id}", summary="Get a billing run", responses=responses(404, 422))
def get_run(run_id: RunId, session: SessionDep) -> RunOut:
    return _out(session, run_id)


def _out(session: SessionDep, run_id: int) -> RunOut:
    run = repository.get(session, run_id)
    if run is None:
        raise NotFound(f"billing run {run_id} not found")
    return RunOut.of(run, repository.invoice_ids(session, [run_id])[run_id])
