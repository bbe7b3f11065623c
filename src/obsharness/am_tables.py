"""Behaviour tables about Alertmanager, judged by a real one (obsharness.am_judge).

Each table posts its alerts together, compares Alertmanager's answer with the
expected one row by row, and records both side by side in the report (an
evidence of kind "verdict"). A failure shows the same table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from obsharness import alertrouting
from obsharness.am_judge import AlertmanagerJudge, Answer
from obsharness.report import evidence

Labels = dict[str, str]


@dataclass(frozen=True)
class Verdict:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]  # each ends with the expected and Alertmanager's answer

    @property
    def wrong(self) -> list[tuple[str, ...]]:
        return [r for r in self.rows if r[-2] != r[-1]]

    def text(self) -> str:
        table = [self.columns, *self.rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.columns))]
        lines = []
        for row in table:
            mark = "  " if row is self.columns or row[-2] == row[-1] else "✘ "
            lines.append(mark + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return "\n".join(lines)

    def settle(self) -> None:
        """Record the table, then fail with it if a row differs."""
        evidence.record("verdict", self.title, {
            "columns": list(self.columns), "rows": [list(r) for r in self.rows]})
        wrong = self.wrong
        if wrong:
            raise AssertionError(f"{self.title}: Alertmanager answers differently on "
                                 f"{len(wrong)} of {len(self.rows)} rows (✘):\n{self.text()}")


def shown(labels: Labels) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def routing(judge: AlertmanagerJudge, config: Path, labels: Labels,
            expected: Sequence[str]) -> Answer:
    answer = judge.answer(config, [labels])[0]
    Verdict(f"routing by {config.name}", ("labels", "expected receivers", "Alertmanager"),
            [(shown(labels), _names(expected), _names(answer.receivers))]).settle()
    return answer


def inhibition(judge: AlertmanagerJudge, config: Path,
               rows: Sequence[tuple[Labels, bool]]) -> None:
    answers = judge.answer(config, [labels for labels, _ in rows])
    table = []
    for (labels, muted), answer in zip(rows, answers, strict=True):
        by = "; ".join(shown(s) for s in answer.inhibited_by)
        table.append((shown(labels), by or "-", "yes" if muted else "no",
                      "yes" if answer.inhibited_by else "no"))
    Verdict(f"inhibition by {config.name}, these alerts firing together",
            ("labels", "inhibited by (Alertmanager)", "expected muted", "Alertmanager"),
            table).settle()


def grouping(judge: AlertmanagerJudge, config: Path, rows: Sequence[tuple[Labels, str]]) -> None:
    """Alerts marked with the same name must share a notification (an aggregation
    group of Alertmanager); alerts marked differently must not."""
    answers = judge.answer(config, [labels for labels, _ in rows])
    keys = [{(g.receiver, tuple(sorted(g.labels.items()))) for g in a.groups} for a in answers]
    table = []
    for i, ((labels, mark), answer) in enumerate(zip(rows, answers, strict=True)):
        together = [j for j in range(len(rows)) if j != i and keys[i] & keys[j]]
        expected_with = [j for j in range(len(rows)) if j != i and rows[j][1] == mark]
        table.append((shown(labels), mark, "; ".join(g.describe() for g in answer.groups) or "-",
                      _rows_named(expected_with), _rows_named(together)))
    Verdict(f"grouping by {config.name}",
            ("labels", "notification", "groups (Alertmanager)", "expected with rows",
             "Alertmanager: with rows"), table).settle()


def _rows_named(indices: Sequence[int]) -> str:
    return ", ".join(str(i + 1) for i in indices) or "alone"


def silence(judge: AlertmanagerJudge, config: Path, matchers: str,
            rows: Sequence[tuple[Labels, bool]]) -> None:
    answers = judge.answer(config, [labels for labels, _ in rows], silences=[matchers])
    table = [(shown(labels), "yes" if expected else "no", "yes" if a.silenced_by else "no")
             for (labels, expected), a in zip(rows, answers, strict=True)]
    Verdict(f"a silence {matchers}", ("labels", "expected silenced", "Alertmanager"),
            table).settle()


_MOMENT = re.compile(r"^(?:(?P<weekday>[A-Za-z]+),?\s+)?(?P<date>\d{4}-\d{2}-\d{2})"
                     r"[ T](?P<time>\d{1,2}:\d{2})$")


def parse_moment(text: str, zone: str) -> datetime | None:
    """"now", or "[Saturday] 2026-12-05 10:00" in `zone`; a weekday given must be the date's."""
    text = text.strip()
    if text == "now":
        return None
    match = _MOMENT.match(text)
    if not match:
        raise ValueError(f"{text!r} is neither 'now' nor a time like 'Saturday 2026-12-05 10:00'")
    try:
        tz = ZoneInfo(zone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is no time zone (IANA names: Europe/Berlin, UTC)") from None
    moment = datetime.strptime(f"{match['date']} {match['time']}", "%Y-%m-%d %H:%M") \
        .replace(tzinfo=tz)
    weekday = match["weekday"]
    if weekday and not moment.strftime("%A").lower().startswith(weekday.lower()[:3]):
        raise ValueError(f"{text!r}: {match['date']} is a {moment.strftime('%A')}, "
                         f"not a {weekday}")
    return moment


def time_muting(judge: AlertmanagerJudge, config: Path,
                rows: Sequence[tuple[Labels, str, str, list[str]]]) -> None:
    """Rows at a given moment are answered by the time interval model (held to
    Alertmanager's own vectors) on the routes Alertmanager itself picked. Rows at
    "now", and one more row per alert, are answered by the real Alertmanager at
    the wall-clock time; the added rows expect what the model says for that
    moment, so every run holds the model to Alertmanager once more."""
    model = alertrouting.load(config, mode=judge.mode)
    before = datetime.now(UTC)
    answers = judge.answer(config, [r[0] for r in rows], flush=True)
    after = datetime.now(UTC)
    table = []
    for (labels, at, zone, expected), answer in zip(rows, answers, strict=True):
        moment = parse_moment(at, zone)
        if moment is None:
            got, by = list(answer.muted_by), "Alertmanager, now"
        elif sorted(model.receivers_for(labels)) != sorted(answer.receivers):
            got = [f"(routes differ: model {model.receivers_for(labels)}, "
                   f"Alertmanager {list(answer.receivers)})"]
            by = "time interval model"
        else:
            got, by = _model_muted(model, labels, moment), "time interval model"
        table.append((shown(labels), at, zone or "UTC", by, _names(sorted(expected)),
                      _names(sorted(got))))
    seen: set[tuple[tuple[str, str], ...]] = set()
    for (labels, *_), answer in zip(rows, answers, strict=True):
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        then, now = _model_muted(model, labels, before), _model_muted(model, labels, after)
        if then != now:  # an interval began or ended during the flush: nothing to compare
            continue
        table.append((shown(labels), f"now ({after:%a %Y-%m-%d %H:%M:%S})", "UTC",
                      "Alertmanager vs the model", _names(now), _names(list(answer.muted_by))))
    Verdict(f"time intervals of {config.name}",
            ("labels", "at", "in", "judged by", "expected muted by", "answer"), table).settle()


def _model_muted(model: alertrouting.AlertmanagerConfig, labels: Labels,
                 moment: datetime) -> list[str]:
    return sorted({n for names in model.muted_by(labels, moment).values() for n in names})
