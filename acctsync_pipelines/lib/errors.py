"""Errors a person acts on. Messages name the file, row, column and value, never a secret."""


class InputError(ValueError):
    """Source data that cannot be booked as it is. Its day fails; nothing of that day is posted."""


class PostingError(RuntimeError):
    """A target refused, or could not be reached; the posting log says what was claimed."""
