"""What moto's Step Functions interpreter would redo for every execution, done once per process.

The definition's parse: moto's interpreter (LocalStack's) parses the definition with an ANTLR grammar
when a state machine is created and again at the start of every execution: about half of the CPU a
whole migration costs the emulator. The parse gives a tree of evaluation components that keep every
execution's state in that execution's own Environment (its stack and heap), never on themselves, so
one tree can serve every execution. The one value a component sets lazily, its heap key, is set
before the tree is shared: two executions starting at once would otherwise race to give it two
different keys.

The Lambda client: the interpreter builds a new boto3 client (8 ms of CPU) for every Task state it
runs; a client is thread-safe and the interpreter always asks for the same one.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from emulator.patching import Patches

_lock = threading.Lock()
_parses: dict[str, tuple[Any, Any]] = {}
_clients: dict[tuple[str, str, str | None], Any] = {}


def _parse(original: Any, definition: str) -> tuple[Any, Any]:
    with _lock:
        if definition not in _parses:
            program, tree = original(definition)
            _set_heap_keys(program)
            _parses[definition] = program, tree
        return _parses[definition]


def _set_heap_keys(component: Any) -> None:
    seen: set[int] = set()
    pending = [component]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, EvalComponent):
            _ = item.heap_key
        if isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("moto.stepfunctions.parser"):
            pending.extend(vars(item).values())


def _client(original: Any, region: str, service: str, state_credentials: Any = None) -> Any:
    # Keyed by the role too: StateCredentials, a plain dataclass, is not hashable.
    key = (region, service, getattr(state_credentials, "role_arn", None))
    with _lock:
        if key not in _clients:
            _clients[key] = original(region, service, state_credentials)
        return _clients[key]


def install() -> Patches:
    """Serve moto's parses and Lambda clients from the caches; the returned ``Patches`` puts moto's own back on exit."""
    patches = Patches()
    patches.wrap(AmazonStateLanguageParser, "parse", _parse)
    patches.wrap(lambda_eval_utils, "boto_client_for", _client)
    return patches
