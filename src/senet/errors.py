"""Errors a user can cause. All are ``ValueError`` subclasses so callers can catch either."""


class SenetError(ValueError):
    """A bad name, option, file or input: the message says what was wrong and what is allowed."""


class CheckpointError(SenetError):
    """A checkpoint that cannot be read, is not a state_dict, or belongs to another model."""


class DataError(SenetError):
    """A dataset that is missing, empty or malformed."""
