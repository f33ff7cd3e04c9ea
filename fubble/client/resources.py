"""The namespaces of the client and the engine (``client.customers``, ``client.plans``, ...), sync and async, each
method an operation of :mod:`fubble.client.ops` (same arguments, same docstring; the answer is the server's response
model)."""

from __future__ import annotations

from fubble.client._resource import AsyncResource, SyncResource, awaitable, blocking
from fubble.client.batcher import AsyncEventBatcher, EventBatcher
from fubble.client.ops import billing, customers, events, invoices, metrics, plans, subscriptions, terms


class Customers(SyncResource):
    create = blocking(customers.create)
    get = blocking(customers.get)
    list = blocking(customers.list_)
    update = blocking(customers.update)
    upcoming_invoice = blocking(customers.upcoming_invoice)


class AsyncCustomers(AsyncResource):
    create = awaitable(customers.create)
    get = awaitable(customers.get)
    list = awaitable(customers.list_)
    update = awaitable(customers.update)
    upcoming_invoice = awaitable(customers.upcoming_invoice)


class Plans(SyncResource):
    create = blocking(plans.create)
    get = blocking(plans.get)
    list = blocking(plans.list_)
    update = blocking(plans.update)
    deactivate = blocking(plans.deactivate)
    add_component = blocking(plans.add_component)
    change_component = blocking(plans.change_component)
    remove_component = blocking(plans.remove_component)
    versions = blocking(plans.versions)
    migrate = blocking(plans.migrate)
    preview = blocking(plans.preview)


class AsyncPlans(AsyncResource):
    create = awaitable(plans.create)
    get = awaitable(plans.get)
    list = awaitable(plans.list_)
    update = awaitable(plans.update)
    deactivate = awaitable(plans.deactivate)
    add_component = awaitable(plans.add_component)
    change_component = awaitable(plans.change_component)
    remove_component = awaitable(plans.remove_component)
    versions = awaitable(plans.versions)
    migrate = awaitable(plans.migrate)
    preview = awaitable(plans.preview)


class Metrics(SyncResource):
    create = blocking(metrics.create)
    get = blocking(metrics.get)
    list = blocking(metrics.list_)
    update = blocking(metrics.update)


class AsyncMetrics(AsyncResource):
    create = awaitable(metrics.create)
    get = awaitable(metrics.get)
    list = awaitable(metrics.list_)
    update = awaitable(metrics.update)


class Subscriptions(SyncResource):
    create = blocking(subscriptions.create)
    get = blocking(subscriptions.get)
    list = blocking(subscriptions.list_)
    cancel = blocking(subscriptions.cancel)
    change = blocking(subscriptions.change)


class AsyncSubscriptions(AsyncResource):
    create = awaitable(subscriptions.create)
    get = awaitable(subscriptions.get)
    list = awaitable(subscriptions.list_)
    cancel = awaitable(subscriptions.cancel)
    change = awaitable(subscriptions.change)


class Events(SyncResource):
    record = blocking(events.record)
    batch = blocking(events.batch)
    list = blocking(events.list_)
    usage = blocking(events.usage)

    def batcher(self, size: int = 500) -> EventBatcher:
        """A context manager that records events in batches of up to ``size`` (see :mod:`fubble.client.batcher`)."""
        return EventBatcher(self._run, size)


class AsyncEvents(AsyncResource):
    record = awaitable(events.record)
    batch = awaitable(events.batch)
    list = awaitable(events.list_)
    usage = awaitable(events.usage)

    def batcher(self, size: int = 500) -> AsyncEventBatcher:
        """An async context manager that records events in batches of up to ``size``."""
        return AsyncEventBatcher(self._run, size)


class Invoices(SyncResource):
    generate = blocking(invoices.generate)
    create = blocking(invoices.create)
    get = blocking(invoices.get)
    list = blocking(invoices.list_)
    add_item = blocking(invoices.add_item)
    remove_item = blocking(invoices.remove_item)
    finalize = blocking(invoices.finalize)
    pay = blocking(invoices.pay)
    set_status = blocking(invoices.set_status)
    void = blocking(invoices.void)


class AsyncInvoices(AsyncResource):
    generate = awaitable(invoices.generate)
    create = awaitable(invoices.create)
    get = awaitable(invoices.get)
    list = awaitable(invoices.list_)
    add_item = awaitable(invoices.add_item)
    remove_item = awaitable(invoices.remove_item)
    finalize = awaitable(invoices.finalize)
    pay = awaitable(invoices.pay)
    set_status = awaitable(invoices.set_status)
    void = awaitable(invoices.void)


class Billing(SyncResource):
    run = blocking(billing.run)
    get_run = blocking(billing.get_run)
    list_runs = blocking(billing.list_runs)


class AsyncBilling(AsyncResource):
    run = awaitable(billing.run)
    get_run = awaitable(billing.get_run)
    list_runs = awaitable(billing.list_runs)


class Credits(SyncResource):
    grant = blocking(terms.grant)
    list = blocking(terms.grants)
    void = blocking(terms.void_grant)
    balance = blocking(terms.balance)
    ledger = blocking(terms.ledger)


class AsyncCredits(AsyncResource):
    grant = awaitable(terms.grant)
    list = awaitable(terms.grants)
    void = awaitable(terms.void_grant)
    balance = awaitable(terms.balance)
    ledger = awaitable(terms.ledger)


class Coupons(SyncResource):
    create = blocking(terms.create_coupon)
    get = blocking(terms.get_coupon)
    list = blocking(terms.list_coupons)
    apply = blocking(terms.apply_coupon)
    applied = blocking(terms.applied_coupons)


class AsyncCoupons(AsyncResource):
    create = awaitable(terms.create_coupon)
    get = awaitable(terms.get_coupon)
    list = awaitable(terms.list_coupons)
    apply = awaitable(terms.apply_coupon)
    applied = awaitable(terms.applied_coupons)


class TaxRates(SyncResource):
    create = blocking(terms.create_tax_rate)
    get = blocking(terms.get_tax_rate)
    list = blocking(terms.list_tax_rates)


class AsyncTaxRates(AsyncResource):
    create = awaitable(terms.create_tax_rate)
    get = awaitable(terms.get_tax_rate)
    list = awaitable(terms.list_tax_rates)


class CreditNotes(SyncResource):
    create = blocking(terms.create_credit_note)
    get = blocking(terms.get_credit_note)
    list_for_invoice = blocking(terms.invoice_credit_notes)
    list_for_customer = blocking(terms.customer_credit_notes)


class AsyncCreditNotes(AsyncResource):
    create = awaitable(terms.create_credit_note)
    get = awaitable(terms.get_credit_note)
    list_for_invoice = awaitable(terms.invoice_credit_notes)
    list_for_customer = awaitable(terms.customer_credit_notes)
