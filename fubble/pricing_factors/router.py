from fubble.api.routing import new_router

router = new_router("/pricing-factors", tag="pricing factors")
