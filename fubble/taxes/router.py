"""HTTP routes of the tax rates."""

from __future__ import annotations

from typing import Annotated

from fubble.api.deps import ClockDep, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.taxes import repository, service
from fubble.taxes.schemas import TaxRateCreate, TaxRateOut

router = new_router(tag="tax rates")

TaxRateId = Annotated[int, id_path("The tax rate's id")]

CREATE = """
Returns 201 with the rate. `rate` is a percent (20 means 20%): more than 0, at most 100, at most 4 decimal places.
A customer is taxed at the rates chosen for it (its `tax_rate_ids`), else at every rate with `applies_by_default`,
and never when it is `tax_exempt`. Tax is computed on an invoice's discounted subtotal, per rate, rounded half-up
once per rate and invoice. A rate never changes once created (invoices keep the name and rate they were taxed at):
to change a rate, create a new one and choose it for the customers.
"""


@router.post("/tax-rates/", status_code=201, summary="Create a tax rate", description=CREATE, responses=responses(422))
def create_tax_rate(body: TaxRateCreate, session: SessionDep, clock: ClockDep) -> TaxRateOut:
    return TaxRateOut.of(service.create(session, body, clock=clock))


@router.get("/tax-rates/", summary="List tax rates (by id)", responses=responses(422))
def list_tax_rates(session: SessionDep, page: PageDep) -> list[TaxRateOut]:
    return [TaxRateOut.of(row) for row in repository.list_page(session, limit=page.limit, offset=page.offset)]


@router.get("/tax-rates/{tax_rate_id}", summary="Get a tax rate", responses=responses(404, 422))
def get_tax_rate(tax_rate_id: TaxRateId, session: SessionDep) -> TaxRateOut:
    return TaxRateOut.of(service.get(session, tax_rate_id))
