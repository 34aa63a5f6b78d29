"""Errors the user can fix. Stages print their message (which names the file, the field and
the fix) and exit non-zero, without a traceback."""


class Sg2imError(Exception):
    """Base class of user-facing errors."""


class ParamsError(Sg2imError, ValueError):
    """A parameter file or flag is wrong."""


class DataError(Sg2imError, ValueError):
    """Input data (annotations, images, scene graphs, checkpoints) is malformed or missing."""


class GraphLimitError(DataError):
    """A scene graph (or file of them) beyond what the model was trained for or a request may hold."""


class DataWarning(UserWarning):
    """Input records were skipped (counted and summarised in one warning per file)."""
