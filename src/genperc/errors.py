"""The base class of errors caused by input a user can fix: the CLI prints their message alone,
without a traceback, and exits with status 2."""


class UserError(Exception):
    pass
