"""The one interface every output format implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from harness_audit.checks.assessment import Assessment


@dataclass(frozen=True, slots=True)
class RenderOptions:
    color: bool = False
    width: int = 120


DEFAULT_OPTIONS = RenderOptions()


class Renderer(ABC):
    """Turns an :class:`Assessment` into the text of one format. Never decides pass or fail."""

    name: str = ""

    @abstractmethod
    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The whole document, ending in a newline."""
