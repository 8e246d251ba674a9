"""Old spellings of calls that still work, with a DeprecationWarning that shows the new one."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TypeVar

Function = TypeVar("Function", bound=Callable)


def renamed_options(**old_to_new: str) -> Callable[[Function], Function]:
    """Accept each old keyword name as its new one, warning once per call that uses it."""

    def decorate(function: Function) -> Function:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{function.__name__}() got both {old}= and {new}=; {old}= is the old name of {new}=."
                        )
                    warnings.warn(
                        f"{function.__name__}({old}=...) is now {function.__name__}({new}=...).",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def positional_options(n_data: int, *names: str) -> Callable[[Function], Function]:
    """Accept options after the first ``n_data`` arguments positionally (as ``names``, in order), with a warning."""

    def decorate(function: Function) -> Function:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            extra = args[n_data:]
            if extra:
                if len(extra) > len(names):
                    raise TypeError(f"{function.__name__}() takes {n_data + len(names)} positional arguments at most.")
                given = dict(zip(names, extra))
                warnings.warn(
                    f"Pass {', '.join(f'{name}=' for name in given)} to {function.__name__}() by keyword; "
                    "positional options will stop working.",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs.update(given)
            return function(*args[:n_data], **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
