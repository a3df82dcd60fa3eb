"""The one exception type for bad input, whichever door it came through."""


class InputError(ValueError):
    """The input cannot be used (unreadable, empty, wrong type, too large, …).

    The message is one sentence meant for the person who gave the input; the
    CLI prints it after `error:` and the app shows it with `st.error`.
    """
