"""Produce values in a forked child process while this one consumes them.

A long read (parsing a 100,000-question file) and the writing of what it yields each
take tens of seconds of Python; in one process they add up, in two they overlap on a
second core. The child inherits everything by fork and must only compute: it never
touches the parent's database connections, and leaves with os._exit (multiprocessing's
fork start does so), so none of them is closed under the parent.
"""

import multiprocessing
import pickle
from collections.abc import Callable, Iterable, Iterator

_BATCH, _DONE, _ERROR = "batch", "done", "error"


def batches(produce: Callable[[], Iterable], size: int) -> Iterator[list]:
    """The values of produce(), in lists of up to *size*, computed in a child process
    (in this one where fork is not available). An exception raised by produce() is
    raised here, after the batches before it."""
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from _batched(produce(), size)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(produce, size, sender), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, value = receiver.recv()
            except EOFError:
                raise RuntimeError(f"the reading process ended without an answer "
                                   f"(exit code {child.exitcode})") from None
            if kind == _BATCH:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _batched(values: Iterable, size: int) -> Iterator[list]:
    batch = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _child(produce: Callable[[], Iterable], size: int, sender) -> None:
    try:
        for batch in _batched(produce(), size):
            sender.send((_BATCH, batch))
        sender.send((_DONE, None))
    except Exception as error:  # noqa: BLE001 - every failure is the parent's to raise
        try:
            sender.send((_ERROR, error))
        except (pickle.PicklingError, TypeError, AttributeError):
            sender.send((_ERROR, RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        sender.close()
