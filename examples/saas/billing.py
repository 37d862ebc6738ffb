"""Stripe, the payments provider: SAAS_STRIPE_API_URL (e.g. https://api.stripe.com) and SAAS_STRIPE_API_KEY.
Onboarding checks that the customer exists and the subscription is theirs and active."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from wellqueue_tui.jobs.kind import PermanentJobError

from ..common import config
from ..common.http import call_json

URL_VARIABLE, KEY_VARIABLE = "SAAS_STRIPE_API_URL", "SAAS_STRIPE_API_KEY"
ACTIVE_STATUSES = frozenset({"active", "trialing"})


@dataclass(frozen=True)
class Subscription:
    customer_id: str
    subscription_id: str
    status: str


def configured() -> tuple[str, str]:
    """The API base URL and key; fails the job at once when either is unset."""
    url, key = config.required("Stripe billing", URL_VARIABLE, KEY_VARIABLE)
    return url, key


def verify_subscription(customer_id: str, subscription_id: str) -> Subscription:
    url, key = configured()
    headers = {"Authorization": f"Bearer {key}"}
    base = url.rstrip("/")
    customer = call_json("GET", f"{base}/v1/customers/{quote(customer_id, safe='')}", headers=headers).json()
    if customer.get("deleted"):
        raise PermanentJobError(f"stripeCustomerId: customer {customer_id} is deleted in Stripe")
    subscription = call_json(
        "GET", f"{base}/v1/subscriptions/{quote(subscription_id, safe='')}", headers=headers
    ).json()
    if subscription.get("customer") != customer_id:
        raise PermanentJobError(f"stripeSubscriptionId: subscription {subscription_id} belongs to another customer")
    status = str(subscription.get("status"))
    if status not in ACTIVE_STATUSES:
        raise PermanentJobError(f"stripeSubscriptionId: subscription {subscription_id} is {status}, not active")
    return Subscription(customer_id, subscription_id, status)
