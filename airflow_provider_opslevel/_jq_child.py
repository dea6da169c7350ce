"""The jq sandbox's child process: evaluates jq programs sent over stdin, one at a time.

Started by :mod:`airflow_provider_opslevel.jq_sandbox` as ``python -I _jq_child.py MEMORY_BYTES`` with
an empty environment in an empty directory. It imports nothing from the provider (so nothing of
the parent's configuration is loaded), caps its own address space, file sizes and core dumps,
then serves requests until stdin closes. Time limits are the parent's job: it kills this
process when an evaluation overruns.

Frames, both ways: a 4-byte big-endian length, then a msgpack array.
Request: ``[program, input_json, first_only, max_output_bytes]``.
Answer: ``[0, outputs_json_array]``, ``[1, jq_error_message]`` or ``[2, limit_message]``.
"""

import os
import resource
import struct
import sys
from typing import Any

import jq
import msgspec

_HEADER = struct.Struct(">I")
_MAX_MESSAGE = 2_000


def _limit_self(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _read_exact(stream: Any, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _encode(value: Any) -> bytes:
    try:
        return msgspec.json.encode(value)
    except (TypeError, OverflowError, msgspec.EncodeError):  # integers beyond 64 bits
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _evaluate(programs: dict[str, Any], source: str, text: str, first_only: bool, max_output: int) -> list[Any]:
    program = programs.get(source)
    if program is None:
        if len(programs) > 256:
            programs.clear()
        program = programs[source] = jq.compile(source)
    outputs: list[bytes] = []
    size = 2
    for value in program.input_text(text):
        encoded = _encode(value)
        size += len(encoded) + 1
        if size > max_output:
            return [2, f"its output passed the limit of {max_output:,} bytes"]
        outputs.append(encoded)
        if first_only:
            break
    return [0, b"[" + b",".join(outputs) + b"]"]


def main() -> None:
    _limit_self(int(sys.argv[1]))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    encoder, decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder()
    programs: dict[str, Any] = {}
    while True:
        header = _read_exact(stdin, _HEADER.size)
        if header is None:
            return
        body = _read_exact(stdin, _HEADER.unpack(header)[0])
        if body is None:
            return
        source, text, first_only, max_output = decoder.decode(body)
        try:
            answer = _evaluate(programs, source, text, first_only, max_output)
        except ValueError as error:  # jq's compile and runtime errors
            answer = [1, str(error)[:_MAX_MESSAGE]]
        except MemoryError:
            answer = [2, "it ran out of memory"]
        try:
            out = encoder.encode(answer)
        except MemoryError:
            out = encoder.encode([2, "it ran out of memory"])
        stdout.write(_HEADER.pack(len(out)) + out)
        stdout.flush()


if __name__ == "__main__":
    os.environ.clear()
    main()
