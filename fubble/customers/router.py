from __future__ import annotations

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, SettingsDep
from fubble.api.routing import new_router
from fubble.customers import repository, service
from fubble.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from fubble.errors_doc import responses

router = new_router("/customers", tag="customers")


@router.post("/", status_code=201, summary="Create a customer", responses=responses(404, 409, 422))
def create_customer(body: CustomerCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> CustomerOut:
    """Returns 201 with the customer. `timezone` must be an IANA name (422); 404 if `test_clock_id` names no test
    clock; 409 if the email (case-insensitively) or external_id is taken."""
    return CustomerOut.of(service.create(session, body, clock=clock, default_currency=settings.default_currency))


@router.get("/", summary="List customers (by id)", responses=responses(422))
def list_customers(session: SessionDep, page: PageDep) -> list[CustomerOut]:
    return CustomerOut.page(session, repository.list_page(session, limit=page.limit, offset=page.offset))


@router.get("/{customer_id}", summary="Get a customer", responses=responses(404, 422))
def get_customer(customer_id: CustomerId, session: SessionDep) -> CustomerOut:
    return CustomerOut.of(service.get(session, customer_id))


@router.put(
    "/{customer_id}", summary="Update a customer (fields present in the body)", responses=responses(404, 409, 422)
)
def update_customer(customer_id: CustomerId, body: CustomerUpdate, session: SessionDep, clock: ClockDep) -> CustomerOut:
    """Changes only the fields present. `timezone` must be an IANA name and cannot be null;
    `invoice_grace_period_hours: null` returns to the server default; `test_clock_id` cannot change (422)."""
    return CustomerOut.of(service.update(session, customer_id, body, clock=clock))
