"""`--capability NAME[=module:function]`: the custom job types an orchestrator reports, and their handlers.

Everything is checked before the orchestrator registers: a name it could not report, a module that does not import,
a function that is not there or cannot be called as `handler(fields, context)` stop it at start-up with a message,
instead of failing every job of that type later.
"""

import importlib
import inspect
import os
import sys
from collections.abc import Iterable

from orchjobs.orchestrator.custom import (
    CUSTOM_PREFIX,
    CustomJobHandler,
    CustomJobType,
    CustomJobTypes,
    echo_fields,
    name_problem,
)


class CapabilityOptionError(Exception):
    """A `--capability` value the orchestrator cannot start with; the message says which and why."""


def custom_job_types(options: Iterable[str]) -> CustomJobTypes:
    """The custom job types named by `--capability` values, their handlers imported."""
    job_types = [custom_job_type(option) for option in options]
    try:
        return CustomJobTypes(job_types)
    except ValueError as exc:
        raise CapabilityOptionError(str(exc)) from None


def custom_job_type(option: str) -> CustomJobType:
    """One `NAME` or `NAME=module:function` (a leading `Custom.` is allowed: it is the capability's prefix)."""
    name, has_handler, spec = (part.strip() for part in option.partition("="))
    if name.lower().startswith(CUSTOM_PREFIX.lower()):
        name = name[len(CUSTOM_PREFIX) :]
    problem = name_problem(name)
    if problem:
        raise CapabilityOptionError(f"{option!r}: {problem}")
    if has_handler and not spec:
        raise CapabilityOptionError(f"{option!r} names no handler after '='; write NAME=module:function.")
    return CustomJobType(name, load_handler(spec) if spec else echo_fields)


def load_handler(spec: str) -> CustomJobHandler:
    """The function `module:function` names (`function` may be dotted, e.g. `module:Class.method`).

    Modules are found in the working directory too (as `python -m` finds them), not only on the Python path.
    """
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise CapabilityOptionError(f"The handler {spec!r} is not of the form module:function.")
    handler: object = _import(module_name, spec)
    for part in attribute.split("."):
        try:
            handler = getattr(handler, part)
        except AttributeError:
            raise CapabilityOptionError(
                f"The handler {spec!r} does not exist: {module_name} has no {attribute}."
            ) from None
    _check_callable(handler, spec)
    return handler  # type: ignore[return-value]  # checked just above, as far as Python can tell


def _import(module_name: str, spec: str) -> object:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # a handler's module may fail in any way; the operator must see how
        raise CapabilityOptionError(f"The handler {spec!r} cannot be imported: {type(exc).__name__}: {exc}") from None


def _check_callable(handler: object, spec: str) -> None:
    if not callable(handler):
        raise CapabilityOptionError(f"The handler {spec!r} is a {type(handler).__name__}, not a function.")
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return  # some callables (builtins) have no signature to check; the first job will tell
    try:
        signature.bind(None, None)
    except TypeError:
        raise CapabilityOptionError(
            f"The handler {spec!r} cannot be called as handler(fields, context): its signature is {signature}."
        ) from None
