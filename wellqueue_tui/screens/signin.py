"""Sign-in for browser sessions: the operator pastes a token (never taken from the URL)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from ..auth.tokens import TokenClaims, TokenError
from ..sanitize import safe_text


class SignInScreen(Screen[TokenClaims]):
    """Dismissed with the verified claims once a token checks out."""

    def __init__(self, verify: Callable[[str], TokenClaims]) -> None:
        super().__init__()
        self._verify = verify

    def compose(self) -> ComposeResult:
        with Vertical(id="signin"):
            yield Static("WellQueue — sign in", id="signin-title")
            yield Static(
                "Paste your operator token (from `wellqueue token issue`) and press Enter. "
                "The session ends when the token expires.",
                id="signin-help",
            )
            yield Input(password=True, placeholder="operator token", id="signin-token")
            yield Static("", id="signin-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        token = event.value.strip()
        event.input.value = ""
        try:
            claims = self._verify(token)
        except TokenError as exc:
            self.query_one("#signin-error", Static).update(safe_text(f"Not signed in: {exc}", 300))
            return
        self.dismiss(claims)
