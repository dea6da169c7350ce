"""The loaded integration: extractors, transforms and the ``for_each`` tree between extractors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_opslevel.config.models import Extractor, OAuth, Transform
from airflow_provider_opslevel.errors import did_you_mean

__all__ = ["Integration"]


@dataclass(frozen=True, eq=False)
class Integration:
    """A validated extract + transform pair. Immutable and shared by the loader's cache.

    ``for_each`` makes the extractors a forest: an extractor with ``for_each: p`` is a child of
    the extractor whose ``external_kind`` is ``p``; the loader guarantees parents exist and
    there are no cycles.

    :ivar extractors: in file order.
    :ivar transforms: in file order.
    :ivar extract_path: the extract document's path, as given to the loader.
    :ivar transform_path: the transform document's path, as given (may equal ``extract_path``).
    :ivar oauth: the top-level ``oauth`` block (client credentials), or ``None`` when absent;
        :class:`~airflow_provider_opslevel.extract.oauth.OAuthClient` uses it.
    """

    extractors: tuple[Extractor, ...]
    transforms: tuple[Transform, ...]
    extract_path: Path
    transform_path: Path
    oauth: OAuth | None = None
    _by_kind: dict[str, Extractor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kind", {e.external_kind: e for e in self.extractors})

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every extractor's external_kind, in file order."""
        return tuple(self._by_kind)

    def extractor(self, kind: str) -> Extractor:
        """The extractor producing ``kind``.

        :param kind: an external_kind.
        :raises KeyError: no extractor has that kind (the message suggests the nearest).
        """
        try:
            return self._by_kind[kind]
        except KeyError:
            raise KeyError(
                f"no extractor has external_kind '{kind}'{did_you_mean(kind, self._by_kind)}"
            ) from None

    def parent(self, kind: str) -> Extractor | None:
        """The extractor that ``kind`` runs ``for_each`` of, or ``None`` for a root.

        :param kind: an external_kind.
        """
        for_each = self.extractor(kind).for_each
        return self._by_kind[for_each] if for_each else None

    def children(self, kind: str) -> tuple[Extractor, ...]:
        """Extractors whose ``for_each`` is ``kind``, in file order.

        :param kind: an external_kind.
        """
        return tuple(e for e in self.extractors if e.for_each == kind)

    def roots(self) -> tuple[Extractor, ...]:
        """Extractors without ``for_each``, in file order (push extractors included)."""
        return tuple(e for e in self.extractors if e.for_each is None)

    def ordered(self) -> tuple[Extractor, ...]:
        """All extractors, parents before children; file order otherwise."""
        done: dict[str, Extractor] = {}
        while len(done) < len(self.extractors):
            before = len(done)
            for extractor in self.extractors:
                if extractor.external_kind not in done and (
                    extractor.for_each is None or extractor.for_each in done
                ):
                    done[extractor.external_kind] = extractor
            if len(done) == before:  # only reachable for an Integration built by hand with a cycle
                raise ValueError("for_each forms a cycle")
        return tuple(done.values())

    def transforms_for(self, kind: str) -> tuple[Transform, ...]:
        """Transforms that map items of ``kind``, in file order.

        :param kind: an external_kind.
        """
        return tuple(t for t in self.transforms if t.external_kind == kind)
