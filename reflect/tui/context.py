"""Typed access to the running `ReflectApp` from any widget or screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from reflect.tui.app import ReflectApp


def reflect_app(node: DOMNode) -> ReflectApp:
    return cast("ReflectApp", node.app)
