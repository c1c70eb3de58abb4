"""The one interface every output format implements, generic over the result it renders."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", contravariant=True)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a person's terminal (or a file) wants the text: colour, width, highlights."""

    color: bool = False
    width: int = 120
    highlight_risk: bool = False  # graph: mark untrusted-input-to-unguarded-tool paths


DEFAULT_OPTIONS = RenderOptions()


class Renderer(ABC, Generic[T]):
    """Turns one command's result into the text of one format. Never decides pass or fail."""

    name: str = ""

    @abstractmethod
    def render(self, result: T, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The whole document, ending in a newline."""
