"""The one exception type the library raises for bad input."""


class GradientToolsError(ValueError):
    """Bad input or a file that cannot be used; the message names the problem.

    It derives from ValueError so that callers catching ValueError keep working. The command line
    turns it into one line on stderr and exit status 2.
    """
