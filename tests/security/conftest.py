"""Shared pieces of the hostile-input tests: the fuzz budget, the hostile string corpus, a broker with a
test kind that carries any text (on tests/jobs' fixtures), and screen readers for the console tests."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pydantic import BaseModel, ConfigDict, Field

from wellqueue_tui.jobs.kind import JobKind, PermanentJobError
from wellqueue_tui.settings import Settings

from jobs.conftest import make_broker, registry  # noqa: F401  (registry: tests/jobs' fixture, on this broker)

# --- the fuzz budget -------------------------------------------------------------------------------

#: Examples per property. The plan's figure is 1,000 (WELLQUEUE_FUZZ_EXAMPLES=1000); the default keeps the
#: whole folder near a minute on two cores.
FUZZ_EXAMPLES = max(1, int(os.environ.get("WELLQUEUE_FUZZ_EXAMPLES", "100")))

#: How many examples each property really ran, printed at the end of the session.
EXAMPLES_RUN: Counter[str] = Counter()


def fuzz_settings(share: float = 1.0, *, replay: bool = True) -> hypothesis_settings:
    """Hypothesis settings for one property: `share` of the budget, no per-example deadline.

    `replay=False` keeps no example database: for inputs that mean something else tomorrow (token times)."""
    extra = {} if replay else {"database": None}
    return hypothesis_settings(
        max_examples=max(1, round(FUZZ_EXAMPLES * share)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        **extra,
    )


#: Measurements worth a line in the CI log (timings), printed at the end of the session.
NOTES: list[str] = []


def ran(name: str) -> None:
    """Count one example of the property `name`."""
    EXAMPLES_RUN[name] += 1


def note(line: str) -> None:
    NOTES.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    if EXAMPLES_RUN:
        terminalreporter.write_line(
            f"security fuzz: budget {FUZZ_EXAMPLES} examples per property (WELLQUEUE_FUZZ_EXAMPLES); examples run:"
        )
        for name, count in sorted(EXAMPLES_RUN.items()):
            terminalreporter.write_line(f"  {name}: {count}")
    for line in NOTES:
        terminalreporter.write_line(f"security: {line}")


# --- hostile strings (reliability.md §4, "Terminal injection") ----------------------------------------

MIB = 1 << 20

#: ~50 strings that try to reach the markup parser or the terminal. Names are for failure messages.
HOSTILE: dict[str, str] = {
    # Rich / Textual markup
    "markup_open": "[bold]x",
    "close_all": "[/]",
    "close_unopened": "value [/bold] end",
    "click_quit": "[@click=app.quit]boom[/]",
    "click_bell": "[@click=app.bell]ring[/]",
    "click_dismiss": "[@click=screen.dismiss('x')]go[/]",
    "link": "[link=http://evil.example/]click[/link]",
    "link_quoted": "[link='https://evil.example/?q=[x]']x[/]",
    "style_blink": "[red on black blink]alarm",
    "style_hex": "[on #ff0000]bg[/]",
    "variable": "[$accent]variable[/]",
    "type_hint": "list[int] and dict[str, Any]",
    "escaped": "\\[escaped] and [[double]]",
    "close_many": "[/link][/@click][/]",
    "unbalanced": "[b][i][u]unbalanced",
    "emoji_code": ":warning: :smiley: :cross_mark:",
    # OSC: title, hyperlink, clipboard; BEL and ST terminated, and the C1 forms
    "osc0_bel": "\x1b]0;owned title\x07",
    "osc0_st": "\x1b]0;owned title\x1b\\",
    "osc8_bel": "\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07",
    "osc8_st": "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",
    "osc52_bel": "\x1b]52;c;ZXZpbA==\x07",
    "osc52_st": "\x1b]52;c;ZXZpbA==\x1b\\",
    "osc52_c1": "\x9d52;c;ZXZpbA==\x9c",
    # CSI and other escape sequences
    "clear": "\x1b[2J",
    "home_clear": "\x1b[H\x1b[2Jcleared",
    "cursor_move": "\x1b[10;10Hmoved",
    "up_erase": "\x1b[1A\x1b[2Kup-and-erase",
    "sgr": "\x1b[31mred\x1b[0m",
    "alt_screen": "\x1b[?1049h alt screen",
    "mouse_tracking": "\x1b[?1000h mouse",
    "c1_csi": "\x9b31mC1 CSI",
    "c1_clear": "\x9b2J",
    "dcs": "\x1bPdcs payload\x1b\\",
    "apc": "\x1b_apc\x1b\\",
    "reset": "\x1bc reset",
    "save_restore": "\x1b7\x1b8 save/restore",
    "status_report": "\x1b[6n",
    "title_report": "\x1b[21t",
    # bidi (Trojan Source) and invisible direction marks
    "rlo": "abc\u202edcba",
    "isolates": "\u2066isolate\u2069 \u2067rtl\u2069 \u2068fsi\u2069",
    "embeddings": "\u202aLRE\u202bRLE\u202cPDF\u202dLRO",
    "marks": "x\u200fy\u200ez\u061c",
    # C0, DEL, C1
    "nul": "a\x00b",
    "del": "del\x7f\x7f",
    "bel": "bell\x07\x07",
    "backspace": "back\x08\x08space",
    "carriage_return": "safe\rEVIL",
    "newline_tab": "line1\nline2\ttab",
    "vt_ff": "\x0b\x0cvt ff",
    "c1_misc": "\x85NEL \x90DCS \x9cST \x9fAPC",
    "surrogates": "lone \ud800 and \udfff",
    # combined
    "click_osc52": "[@click=app.quit]\x1b]52;c;ZXZpbA==\x07[/]",
    "everything": "\x1b[2J[@click=app.quit]boom[/]\u202e\x9b31m\x00[link=http://evil.example/]x",
    # size
    "huge_plain": "A" * MIB,
    "huge_csi": "\x1b[2J" * (MIB // 4),
    "huge_brackets": "[" * MIB,
}

#: The corpus without the 1 MiB strings, for places that store or show each string many times.
HOSTILE_SMALL: dict[str, str] = {name: text for name, text in HOSTILE.items() if len(text) < 10_000}

#: Characters that must never reach the screen or a rendered Text as themselves.
FORBIDDEN_CHARS = frozenset(
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\n\t"]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
    + [chr(c) for c in range(0xD800, 0xE000)]
)


def forbidden_in(text: str) -> list[str]:
    """The forbidden characters found in `text`, as escapes (empty when clean)."""
    return sorted({f"U+{ord(ch):04X}" for ch in set(text) & FORBIDDEN_CHARS})


# --- a broker with a kind that accepts any text -------------------------------------------------------


class HostilePayload(BaseModel):
    """Whatever a careless producer might put in a job: free text (up to 2 MiB) and free JSON."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=2 * MIB)
    wellId: str | None = Field(default=None, max_length=MIB)  # the queue table's "key" column shows it
    data: dict = Field(default_factory=dict)
    fail_with: str | None = None  # raise this text as the job's error
    log_lines: list[str] = Field(default_factory=list)
    surrogates: bool = False  # turn non-ASCII in the error and log lines into lone surrogates first


def as_surrogates(text: str) -> str:
    """What a processor that decodes bytes with `surrogateescape` holds: b"\xc3\xa9" becomes "\udcc3\udca9"."""
    return text.encode("utf-8").decode("ascii", "surrogateescape")


def process_hostile(payload: HostilePayload, ctx) -> dict:
    convert = as_surrogates if payload.surrogates else str
    for line in payload.log_lines:
        ctx.log(convert(line))
    if payload.fail_with is not None:
        raise PermanentJobError(convert(payload.fail_with))
    return {"echo": payload.text[:1000]}


HOSTILE_KIND = JobKind(
    name="echo_hostile",
    queue="hostile",
    payload=HostilePayload,
    process=process_hostile,
    max_attempts=1,
    backoff_ms=100,
    timeout_ms=60_000,
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # the corpus holds a 1 MiB payload of escapes (2.25 MiB of JSON): above the default enqueue limit
    return Settings(data_dir=tmp_path, max_payload_bytes=4 * MIB)


@pytest.fixture
def broker(redis_client, redis_url, settings):
    """A WellQueue broker with the hostile kind on the private Redis (emptied by `redis_client`)."""
    with make_broker(redis_url, settings, [HOSTILE_KIND]) as broker:
        yield broker


# --- reading the screen (the Pilot helpers `settle` and `press` are tests/tui's) ---------------------


def screen_lines(app) -> list[str]:
    """The characters the compositor would put on each terminal row (style escapes excluded)."""
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def click_targets(app) -> Iterator[str]:
    """Every `@click` action carried by a rendered cell (how markup links would fire actions)."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            meta = segment.style.meta if segment.style is not None else {}
            if meta.get("@click"):
                yield str(meta["@click"])
