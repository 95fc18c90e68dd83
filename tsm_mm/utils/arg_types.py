"""Argument checks: argparse types for the tools (a bad value is refused
before any work starts) and :func:`check_int` for the library's own
arguments; each message names the argument."""
import argparse
import numbers
from typing import Any, Optional


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1.

    Args:
        text (str): The command-line value.

    Returns:
        int: The value.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be an integer >= 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def check_int(value: Any, name: str, low: Optional[int] = None) -> int:
    """``value`` as an int (>= ``low``), else an error naming ``name``.

    Numpy integers are ints; bools, floats and strings are refused.

    Args:
        value: The argument.
        name (str): Its name, for the message.
        low (int, optional): The smallest value allowed.

    Returns:
        int: ``value``.
    """
    rule = 'an int' if low is None else f'an int >= {low}'
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be {rule}, got {value!r} '
                        f'({type(value).__name__})')
    if low is not None and value < low:
        raise ValueError(f'{name} must be {rule}, got {value!r}')
    return int(value)
