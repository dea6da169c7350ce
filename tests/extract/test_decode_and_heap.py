"""Body decoding gives exactly json.loads' values and errors; the record heap is handed back."""

from __future__ import annotations

import gc
import json

import pytest

from airflow_provider_opslevel.extract import heap
from airflow_provider_opslevel.extract.decode import decode_json
from airflow_provider_opslevel.extract.parallel import run_partitions

BODIES = [
    b'[{"id": "1", "n": 1.5e3, "big": 123456789012345678901234567890, "neg": -0}]',
    b'{"a": 1, "a": 2}',  # the last duplicate wins in both
    '{"t": "caf\u00e9 \\u00e9 \\ud83d\\ude00"}'.encode(),
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1e400",
    b'"\\ud800"',  # a lone surrogate: json keeps it
    b"\xef\xbb\xbf[1]",  # a UTF-8 byte-order mark: json skips it
    b"  [1, 2]\n",
]


@pytest.mark.parametrize("body", BODIES)
def test_values_are_exactly_what_json_loads_gives(body: bytes):
    got, want = decode_json(body), json.loads(body)
    assert json.dumps(got) == json.dumps(want)
    assert type(got) is type(want)


@pytest.mark.parametrize("body", [b"", b"<html>down</html>", b'{"a": 1', b'{"a": 1} trailing'])
def test_errors_are_json_loads_errors(body: bytes):
    with pytest.raises(ValueError) as got:
        decode_json(body)
    with pytest.raises(ValueError) as want:
        json.loads(body)
    assert str(got.value) == str(want.value)


def test_settle_freezes_only_while_records_are_kept_and_hands_them_back():
    assert gc.get_freeze_count() == 0
    heap.settle()
    assert gc.get_freeze_count() == 0  # outside keeping_records it does nothing
    with heap.keeping_records():
        kept = [{"n": i} for i in range(1000)]
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0


def _collector_sees(obj: object) -> bool:
    # gc.get_objects() lists generations 0-2, never the permanent (frozen) one. Checking one
    # object, not gc.get_freeze_count(), since frozen objects that die lower the count.
    return any(o is obj for o in gc.get_objects())


def test_objects_frozen_by_someone_else_stay_frozen():
    theirs = [{"frozen": "before us"}]
    gc.freeze()
    try:
        assert not _collector_sees(theirs)
        with heap.keeping_records():
            heap.settle()
        assert not _collector_sees(theirs)
    finally:
        gc.unfreeze()
    assert _collector_sees(theirs)


def test_run_partitions_keeps_records_frozen_only_while_it_runs():
    class Runner:
        class extractor:
            external_kind = "thing"

        def run(self, parent: object) -> object:
            heap.settle()
            assert gc.get_freeze_count() > 0
            return parent

    assert run_partitions(Runner(), [1, 2, 3], 2) == [1, 2, 3]  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0
