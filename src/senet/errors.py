"""Errors a user can cause: ``SenetError`` (a ``ValueError``), and ``SenetTypeError`` for wrong types."""


class SenetError(ValueError):
    """A bad name, option, file or input: the message says what was wrong and what is allowed."""


class CheckpointError(SenetError):
    """A checkpoint that cannot be read, is not a state_dict, or belongs to another model."""


class DataError(SenetError):
    """A dataset that is missing, empty or malformed."""


class SenetTypeError(SenetError, TypeError):
    """An argument of the wrong type (a library call): also a ``TypeError``."""
