"""The AI provider: an OpenAI-compatible chat-completions API at EXPORTS_AI_API_URL with key
EXPORTS_AI_API_KEY (model EXPORTS_AI_MODEL, default gpt-4o-mini). Without URL and key, AI jobs fail at once."""

from __future__ import annotations

import json

from wellqueue_tui.jobs.kind import PermanentJobError

from ..common import config
from ..common.http import call_json

URL_VARIABLE, KEY_VARIABLE, MODEL_VARIABLE = "EXPORTS_AI_API_URL", "EXPORTS_AI_API_KEY", "EXPORTS_AI_MODEL"
DEFAULT_MODEL = "gpt-4o-mini"
TIMEOUT_S = 50  # inside the AI queue's 60-second job timeout


def ask_json(system: str, prompt: dict) -> dict:
    """Send one chat turn asking for a JSON object; returns the parsed object."""
    url, key = config.required("The AI provider", URL_VARIABLE, KEY_VARIABLE)
    answer = call_json(
        "POST",
        url.rstrip("/") + "/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        timeout=TIMEOUT_S,
        body={
            "model": config.optional(MODEL_VARIABLE, DEFAULT_MODEL),
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": json.dumps(prompt, default=str)},
            ],
        },
    ).json()
    try:
        content = answer["choices"][0]["message"]["content"]
        value = json.loads(content)
    except (KeyError, IndexError, TypeError, ValueError):
        raise PermanentJobError("the AI provider's answer has no JSON object in choices[0].message.content") from None
    if not isinstance(value, dict):
        raise PermanentJobError("the AI provider answered JSON that is not an object")
    return value
