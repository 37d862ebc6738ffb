"""WellQueue's REST API at `/api/jobs/*` (WellFlow's paths): queues, jobs, schedules, health and metrics,
with bearer-token auth through the operator session (one permission table, tenant scope, audit)."""

from .app import create_api_app, install_api
from .services import ApiServices, build_services

__all__ = ["ApiServices", "build_services", "create_api_app", "install_api"]
