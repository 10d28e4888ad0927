"""The texts: every language has the same messages with the same variables, every message the
code names exists, none is built from strings at run time, and plural forms are real ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fluent.syntax import FluentParser
from fluent.syntax import ast as fluent_ast
from fluent.syntax.visitor import Visitor

from teambot.texts import LANGUAGES, locale_source, text

PACKAGE = Path(__file__).resolve().parent.parent / "teambot"


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: fluent_ast.VariableReference) -> None:
        self.names.add(node.id.name)


def _messages(language: str) -> dict[str, set[str]]:
    resource = FluentParser().parse(locale_source(language))
    junk = [entry for entry in resource.body if isinstance(entry, fluent_ast.Junk)]
    assert not junk, f"{language}.ftl does not parse: {[j.content[:80] for j in junk]}"
    messages: dict[str, set[str]] = {}
    for entry in resource.body:
        if isinstance(entry, fluent_ast.Message):
            variables = _Variables()
            variables.visit(entry)
            messages[entry.id.name] = variables.names
    return messages


def test_every_language_has_the_same_messages_and_variables() -> None:
    english = _messages("en")
    for language in LANGUAGES:
        other = _messages(language)
        assert sorted(set(english) - set(other)) == [], f"missing in {language}"
        assert sorted(set(other) - set(english)) == [], f"only in {language}"
        differing = {key for key in english if english[key] != other[key]}
        assert not differing, {key: (english[key], other[key]) for key in differing}


def _text_calls() -> list[tuple[Path, ast.Call]]:
    calls = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "text"
                and len(node.args) >= 2
            ):
                calls.append((path, node))
    return calls


def test_message_ids_are_never_built_at_run_time() -> None:
    built = [
        f"{path.name}:{call.lineno}"
        for path, call in _text_calls()
        if isinstance(call.args[1], ast.JoinedStr | ast.BinOp | ast.Call)
    ]
    assert built == []


def test_every_message_named_in_the_code_exists_and_every_message_is_used() -> None:
    messages = set(_messages("en"))
    literals: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    named = {
        call.args[1].value
        for _, call in _text_calls()
        if isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str)
    }
    assert sorted(named - messages) == []
    # a message whose id appears nowhere as a literal is dead or its id is built at run time
    assert sorted(messages - literals) == []


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 участник"),
        (2, "2 участника"),
        (5, "5 участников"),
        (11, "11 участников"),
        (21, "21 участник"),
        (22, "22 участника"),
    ],
)
def test_russian_counts_use_real_plural_forms(count: int, expected: str) -> None:
    assert text("ru", "team_card_members", count=count) == expected


def test_english_counts_and_unknown_language() -> None:
    assert text("en", "team_card_members", count=1) == "1 member"
    assert text("en", "team_card_members", count=3) == "3 members"
    assert text("xx", "team_card_members", count=3) == "3 members"  # falls back to English


def test_no_gender_forms_with_brackets() -> None:
    for language in LANGUAGES:
        source = locale_source(language)
        for marker in ("(а)", "(ла)", "(лась)", "(ась)", "(s)he", "his/her"):
            assert marker not in source, (language, marker)


def test_ids_are_not_grouped_and_values_are_not_isolated() -> None:
    body = text("en", "admin_no_user", id=str(1234567))
    assert body == "There is no user with id 1234567."
