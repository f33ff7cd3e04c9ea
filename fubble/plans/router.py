from fubble.api.routing import new_router

router = new_router("/plans", tag="plans")
