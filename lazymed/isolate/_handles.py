"""What callers hold: a handle on a service, and on an object that stayed in its worker."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._service import Runtime


def _method(runtime: Runtime, ref: int, generation: int | None, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return runtime.call(ref, generation, name, args, kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Runs {name}() in the worker of isolated service {runtime.name!r}."
    return call


class ServiceHandle:
    """``service(name)``: every public attribute is a method of the service object, run in
    its worker (``svc.query("chest pain")``). Attributes starting with ``_`` are not
    forwarded. Holding a handle does not start the worker; the first call does."""

    __slots__ = ("_runtime",)

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return _method(self._runtime, 0, None, name)

    def __dir__(self) -> list[str]:
        return self._runtime.methods()

    def __repr__(self) -> str:
        rt = self._runtime
        return f"<lazymed.isolate service {rt.name!r} ({rt.settings['factory']}), {rt.state}>"


class RemoteObject:
    """A result that could not be pickled: it stays in the worker; its public methods run
    there. It lives as long as that worker (a restart or stop ends it: calls then raise
    ServiceError with cause "stopped"), or until this handle is garbage-collected: the worker
    then drops its object at the service's next call or when the monitor finds the service
    idle (best effort; nothing happens if the worker is gone)."""

    __slots__ = ("__weakref__", "_generation", "_methods", "_ref", "_runtime", "_type")

    def __init__(
        self, runtime: Runtime, ref: int, generation: int, methods: tuple[str, ...], type_name: str
    ) -> None:
        self._runtime = runtime
        self._ref = ref
        self._generation = generation
        self._methods = methods
        self._type = type_name
        # Only a note for the runtime: a GC callback may run in the middle of a call on this
        # thread's connection, so the release itself happens later, in ordinary code.
        release = weakref.finalize(self, runtime.releases.append, (ref, generation))
        release.atexit = False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(f"remote {self._type!r} object has no public method {name!r}")
        return _method(self._runtime, self._ref, self._generation, name)

    def __dir__(self) -> list[str]:
        return list(self._methods)

    def __repr__(self) -> str:
        return (
            f"<remote {self._type} #{self._ref} in the worker of isolated service "
            f"{self._runtime.name!r}>"
        )
