"""Argparse types shared by the tools: a bad value is refused by argparse,
with a message that names the argument, before any work starts."""
import argparse


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
