"""The one exception the corpus package raises for bad input (missing files, bad arguments,
malformed rows). CLIs catch it and print `error: <message>` with exit status 2, never a
traceback from deep inside."""


class CorpusError(Exception):
    """Bad input to the corpus generator or reader; the message says what and where."""
