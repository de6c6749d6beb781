"""The deploy checks' shared bookkeeping: each check is recorded, and a script fails when any did."""

failures = []


def check(cond, what, quiet=False):
    """Records `what` as failed unless `cond`; prints 'ok'/'FAIL' lines unless quiet. Returns cond."""
    if not quiet:
        print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond
