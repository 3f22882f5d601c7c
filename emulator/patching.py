"""The one way the emulator patches moto (and the handlers' modules): ``Patches``.

Each component's ``install()`` replaces attributes through a ``Patches`` and returns it; the ``Patches`` is a
context manager whose exit puts every original back, last replaced first, so ``Emulator`` enters the components
on one ``ExitStack`` and leaving it undoes them in reverse by construction.

    patches = Patches()
    patches.wrap(EC2ContainerServiceBackend, "stop_task", self._stop_task)  # self._stop_task(original, backend, ...)
    patches.replace(polling, "now", clock.now)  # where there is no original to call
    ...
    patches.restore()  # or: with patches: ...

The original recorded is the owner's own entry (``vars(owner)``), not what ``getattr`` finds: a staticmethod comes
back as the staticmethod, and an attribute the owner only inherited (or lacked) is deleted again, not copied in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ABSENT = object()


class Patches:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name`` to ``value``, recording what ``owner`` itself held there."""
        self._saved.append((owner, name, vars(owner).get(name, _ABSENT)))
        setattr(owner, name, value)

    def wrap(self, owner: Any, name: str, method: Callable[..., Any]) -> None:
        """Replace the method (or module function) ``owner.name`` with one calling ``method(original, *args,
        **kwargs)``: for a method, the first of ``args`` is its ``self``; a staticmethod stays static."""
        original = getattr(owner, name)

        def patched(*args: Any, **kwargs: Any) -> Any:
            return method(original, *args, **kwargs)

        patched.__name__ = patched.__qualname__ = name
        static = isinstance(vars(owner).get(name), staticmethod)
        self.replace(owner, name, staticmethod(patched) if static else patched)

    def restore(self) -> None:
        """Put every original back, the last replaced first."""
        while self._saved:
            owner, name, original = self._saved.pop()
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

    def __enter__(self) -> Patches:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()
