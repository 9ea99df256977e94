"""The one error type of the runtime: a single line naming the cause and what to do."""


class ClusterError(Exception):
    """A failure the user can act on; its message is printed alone, as one line."""
