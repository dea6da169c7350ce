"""Run jq programs in child processes that hold no secrets and cannot run away.

libjq evaluates in C: a thread cannot interrupt it and it reads the C ``environ`` directly. So
every program that is not a plain path (those run in Python, see :mod:`expressions`) is
evaluated by a child process (:mod:`airflow_provider_opslevel._jq_child`) that:

- starts from ``python -I`` with an **empty environment** in an **empty working directory**, so
  ``$ENV`` is ``{}`` and there are no files to find, even for a program that slipped past
  :mod:`jq_policy`;
- caps its address space at :data:`MEMORY_LIMIT_BYTES` (``[range(3e8)]`` fails there), may not
  write files, dumps no core;
- is killed when one evaluation runs past :data:`TIME_LIMIT_SECONDS` (``last(range(1e10))``);
- returns at most :data:`MAX_OUTPUT_BYTES` (or twice the input's size, if larger) of output.

Children are pooled, one per concurrent caller, and replaced when killed. A forked parent (an
Airflow executor forking a task) drops the pool it inherited instead of sharing its pipes.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from airflow_provider_opslevel.errors import SandboxError, SandboxLimitError

__all__ = [
    "MAX_OUTPUT_BYTES",
    "MEMORY_LIMIT_BYTES",
    "TIME_LIMIT_SECONDS",
    "SandboxError",
    "SandboxLimitError",
    "evaluate",
]

TIME_LIMIT_SECONDS = 5.0
"""Longest one evaluation (one program on one record or page) may run."""
MEMORY_LIMIT_BYTES = 1 << 30
"""Address space of a jq child process (1 GiB)."""
MAX_OUTPUT_BYTES = 16 << 20
"""Most JSON one evaluation may output (16 MiB), unless twice its input is more."""
_MAX_IDLE = 8
_HEADER = struct.Struct(">I")
_CHILD = Path(__file__).with_name("_jq_child.py")


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def _input_json(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, OverflowError, msgspec.EncodeError):
        import json

        return json.dumps(value)  # integers beyond 64 bits; raises TypeError on non-JSON values


class _Child:
    """One child process and its pipes."""

    def __init__(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="opslevel-jq-")
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD), str(MEMORY_LIMIT_BYTES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd=self.workdir,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout_fd = self.process.stdout.fileno()
        self.pid = os.getpid()

    def call(self, request: bytes, deadline: float) -> Any:
        self.stdin.write(_HEADER.pack(len(request)) + request)
        self.stdin.flush()
        header = self._read(_HEADER.size, deadline)
        return _decoder.decode(self._read(_HEADER.unpack(header)[0], deadline))

    def _read(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.stdout_fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(self.stdout_fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def death(self) -> str:
        """Why the child ended (after EOF), for the error message."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the jq process stopped answering"
        if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGKILL):
            return f"it ran out of memory (limit {MEMORY_LIMIT_BYTES >> 20} MiB)"
        return f"the jq process exited with code {code}"

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.close()

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            os.rmdir(self.workdir)
        except OSError:
            pass


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Child] = []

    def take(self) -> _Child:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return _Child()

    def give_back(self, child: _Child) -> None:
        with self.lock:
            if child.pid == os.getpid() and len(self.idle) < _MAX_IDLE:
                self.idle.append(child)
                return
        child.close()

    def forget(self) -> None:
        """In a forked child: the pipes belong to the parent; drop them without a word to the jq processes."""
        self.lock = threading.Lock()
        self.idle = []

    def shutdown(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for child in idle:
            child.close()


_pool = _Pool()
os.register_at_fork(after_in_child=_pool.forget)
atexit.register(_pool.shutdown)


def evaluate(program: str, value: Any, first_only: bool = False) -> list[Any]:
    """Run ``program`` (already wrapped by :func:`jq_policy.wrap`) on ``value`` in a child.

    :param program: jq program text.
    :param value: a JSON-like value.
    :param first_only: stop after the first output.
    :returns: the outputs (at most one with ``first_only``).
    :raises SandboxError: jq raised an error; :class:`SandboxLimitError` when a limit stopped it.
    :raises TypeError: ``value`` is not JSON-like.
    """
    text = _input_json(value)
    max_output = max(MAX_OUTPUT_BYTES, 2 * len(text))
    request = _encoder.encode([program, text, first_only, max_output])
    child = _pool.take()
    try:
        status, payload = child.call(request, time.monotonic() + TIME_LIMIT_SECONDS)
    except TimeoutError:
        child.kill()
        raise SandboxLimitError(f"it ran for more than {TIME_LIMIT_SECONDS:g} s and was stopped") from None
    except (EOFError, BrokenPipeError):
        reason = child.death()
        child.close()
        raise SandboxLimitError(reason) from None
    except BaseException:
        child.kill()
        raise
    _pool.give_back(child)
    if status == 0:
        if len(payload) <= 2:
            return []
        try:
            return msgspec.json.decode(payload)
        except msgspec.DecodeError:  # a number msgspec will not hold; json.loads gives jq.py's value
            import json

            return json.loads(payload)
    if status == 1:
        raise SandboxError(payload)
    raise SandboxLimitError(payload)
