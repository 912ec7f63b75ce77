"""The persistent sending queue (sending_queue.storage with the file_storage extension).

A (otlp/http receiver -> otlphttp exporter with a persistent queue) sends to B (otlp
receiver -> file exporter), a second weft that the tests stop and start as the destination
that goes down. What A acknowledged (HTTP 200) must reach B's file in the end, whatever
happens to A in between: kill -9, a full disk, a damaged segment file."""

from __future__ import annotations

import random
import resource
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

import yaml

from conftest import (
    file_pipeline_config,
    free_port,
    make_trace_request,
    post,
    read_output,
    wait_for,
)

EXPORTER = "otlphttp/b"
QUEUE_DIR = "exporter_otlphttp_b"  # file_storage's directory for this exporter's queue
HEADER = 32  # a record's header in a segment file (docs/reliability.md)


def queue_config(a_http: int, b_http: int, storage: Path, **queue) -> dict:
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{a_http}"}}}},
        "extensions": {"file_storage": {"directory": str(storage)}},
        "exporters": {
            EXPORTER: {
                "endpoint": f"http://127.0.0.1:{b_http}",
                "timeout": "2s",
                "sending_queue": {"storage": "file_storage", "num_consumers": 2, **queue},
                "retry_on_failure": {"initial_interval": "50ms", "max_interval": "300ms"},
            }
        },
        "service": {
            "extensions": ["file_storage"],
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": [EXPORTER]}},
        },
    }


class Destination:
    """B: a weft writing what it receives to a file; up or down."""

    def __init__(self, collector_factory, out: Path):
        self.port = free_port()
        self.out = out
        self.config = file_pipeline_config(out, http_port=self.port, signals=("traces",))
        self.factory = collector_factory
        self.proc = None

    def up(self) -> None:
        if self.proc is None:
            self.proc = self.factory(self.config, name="b")

    def down(self) -> None:
        if self.proc is not None:
            assert self.proc.stop() == 0
            self.proc = None

    def names(self) -> list[str]:
        return [s["span"]["name"] for s in read_output(self.out, strict=False).spans]


def send(port: int, tag: str, spans: int = 10, timeout: float = 3.0) -> tuple[int | None, set[str]]:
    """One request of `spans` spans named tag-0.. ; its HTTP status (None: no answer)."""
    req, _ = make_trace_request(spans, tag=tag, seed=abs(hash(tag)) % 1_000_000)
    try:
        status = post(port, "/v1/traces", req.SerializeToString(), timeout=timeout).status_code
    except Exception:  # noqa: BLE001 - refused, reset, timed out: not acknowledged
        status = None
    return status, {f"{tag}-{i}" for i in range(spans)}


class Sender(threading.Thread):
    """Sends requests one after another until stopped; remembers what was acknowledged."""

    def __init__(self, port: int, prefix: str, acked: set[str]):
        super().__init__(daemon=True)
        self.port, self.prefix, self.acked = port, prefix, acked
        self.stopped = threading.Event()
        self.sent = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            status, names = send(self.port, f"{self.prefix}r{self.sent}", timeout=2.0)
            self.sent += 1
            if status == 200:
                self.acked.update(names)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def test_kill_9_loop_loses_nothing_acknowledged(collector_factory, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}")
    dest = Destination(collector_factory, tmp_path / "b.jsonl")
    a_http = free_port()
    config = queue_config(a_http, dest.port, tmp_path / "storage", queue_size=100_000)
    (tmp_path / "storage").mkdir()
    acked: set[str] = set()
    ups = [True, False, True, True, False, True, False, True, True, False]  # B's state per round
    for round_no, b_up in enumerate(ups):
        dest.up() if b_up else dest.down()
        a = collector_factory(config, name="a")
        sender = Sender(a_http, f"k{round_no}", acked)
        sender.start()
        time.sleep(rng.uniform(0.3, 1.5))
        a.stop(signal.SIGKILL)  # at a random moment of the sending
        sender.stop()
        assert sender.sent > 0
    assert len(acked) > 500, "the sender should have had most requests acknowledged"

    dest.up()
    a = collector_factory(config, name="a")

    def arrived() -> bool:
        return acked <= set(dest.names())

    try:
        wait_for(arrived, timeout=90, interval=0.5, what="every acknowledged span at the destination")
    except AssertionError:
        missing = acked - set(dest.names())
        m = a.metrics()
        raise AssertionError(
            f"{len(missing)} of {len(acked)} acknowledged spans missing, e.g. {sorted(missing)[:5]}; "
            f"queue size {m.sum('otelcol_exporter_queue_size', exporter=EXPORTER)}, "
            f"sent {m.sum('otelcol_exporter_sent_spans', exporter=EXPORTER)}, "
            f"failed {m.sum('otelcol_exporter_send_failed_spans', exporter=EXPORTER)}, "
            f"recovered {m.sum('otelcol_exporter_queue_recovered_spans', exporter=EXPORTER)}, "
            f"redelivered {m.sum('otelcol_exporter_queue_redelivered_spans', exporter=EXPORTER)}"
        ) from None
    wait_for(lambda: a.metrics().sum("otelcol_exporter_queue_size", exporter=EXPORTER) == 0,
             timeout=30, what="an empty queue")
    names = dest.names()
    duplicates = len(names) - len(set(names))
    print(f"acknowledged {len(acked)} spans; received {len(names)}, {duplicates} duplicates")
    # Duplicates are possible (at-least-once); the queue counts what it sends again.
    a.stop()
    dest.down()


def limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_refuses_upstream_and_loses_nothing(collector_factory, tmp_path):
    dest = Destination(collector_factory, tmp_path / "b.jsonl")  # down for now
    a_http = free_port()
    (tmp_path / "storage").mkdir()
    config = queue_config(a_http, dest.port, tmp_path / "storage", queue_size=100_000)
    # Every file weft writes stops growing at 256 KiB: the segment file fills the "disk".
    a = collector_factory(config, name="a", preexec=limit_file_size(256 << 10))
    acked: set[str] = set()
    refused = 0
    for i in range(400):
        status, names = send(a_http, f"full{i}", spans=50)
        if status == 200:
            acked |= names
        else:
            assert status == 503, f"a full queue answers 503 (retry later), not {status}"
            refused += 1
            if refused == 3:
                break
    assert refused == 3, "the queue never filled"
    assert len(acked) >= 500
    assert a.alive()
    m = a.metrics()
    assert m.sum("otelcol_exporter_enqueue_failed_spans", exporter=EXPORTER) == 150

    dest.up()
    wait_for(lambda: acked <= set(dest.names()), timeout=60, interval=0.5,
             what="every acknowledged span at the destination")
    # Drained, the queue takes data again (a fresh segment).
    later: set[str] = set()

    def accepted() -> bool:
        status, names = send(a_http, f"later{len(later)}", spans=5)
        if status == 200:
            later.update(names)
        return status == 200

    wait_for(accepted, timeout=30, interval=0.2, what="the queue to accept data again")
    wait_for(lambda: later <= set(dest.names()), timeout=30, what="the later spans")
    a.stop()
    dest.down()


def records(segment: Path) -> list[tuple[int, int]]:
    """(offset, total length) of each record in a segment file."""
    data = segment.read_bytes()
    out, off = [], 0
    while off + HEADER <= len(data):
        assert data[off:off + 4] == b"WEFT"
        (length,) = struct.unpack_from("<I", data, off + 16)
        out.append((off, HEADER + length))
        off += HEADER + length
    return out


def test_damaged_segment_and_torn_tail_are_repaired_and_reported(collector_factory, tmp_path):
    dest = Destination(collector_factory, tmp_path / "b.jsonl")  # down
    a_http = free_port()
    storage = tmp_path / "storage"
    storage.mkdir()
    config = queue_config(a_http, dest.port, storage)
    a = collector_factory(config, name="a")
    for i in range(6):
        status, _ = send(a_http, f"seg{i}")
        assert status == 200
    a.stop(signal.SIGKILL)

    segs = sorted((storage / QUEUE_DIR).glob("seg-*"))
    assert len(segs) == 1
    recs = records(segs[0])
    assert len(recs) == 6
    data = bytearray(segs[0].read_bytes())
    off, length = recs[2]
    data[off + HEADER + (length - HEADER) // 2] ^= 0xFF  # inside the third request
    data += data[recs[0][0]:recs[0][0] + 40]  # and half a record at the end
    segs[0].write_bytes(bytes(data))

    dest.up()
    a = collector_factory(config, name="a")
    expected = {f"seg{i}-{k}" for i in (0, 1, 3, 4, 5) for k in range(10)}
    wait_for(lambda: expected <= set(dest.names()), timeout=30, what="the undamaged requests")
    wait_for(lambda: a.metrics().sum("otelcol_exporter_queue_size", exporter=EXPORTER) == 0,
             timeout=10, what="an empty queue")
    assert not {n for n in dest.names() if n.startswith("seg2-")}
    m = a.metrics()
    assert m.sum("otelcol_exporter_queue_skipped_bytes", exporter=EXPORTER) == length
    assert m.sum("otelcol_exporter_queue_truncated_bytes", exporter=EXPORTER) == 40
    assert m.sum("otelcol_exporter_queue_recovered_spans", exporter=EXPORTER) == 50
    log = a.log_text()
    assert f"damaged: {length} bytes at offset {off}" in log
    assert "torn tail: 40 bytes" in log
    a.stop()
    dest.down()


def test_shutdown_keeps_the_queue_for_the_next_start(collector_factory, tmp_path):
    dest = Destination(collector_factory, tmp_path / "b.jsonl")  # down
    a_http = free_port()
    (tmp_path / "storage").mkdir()
    config = queue_config(a_http, dest.port, tmp_path / "storage")
    a = collector_factory(config, name="a")
    for i in range(5):
        assert send(a_http, f"keep{i}")[0] == 200
    started = time.monotonic()
    assert a.stop() == 0
    assert time.monotonic() - started < 5, "nothing to wait for: the queue is on disk"
    assert "stay in the persistent queue for the next start" in a.log_text()
    assert "were not sent" not in a.log_text()

    dest.up()
    a = collector_factory(config, name="a")
    expected = {f"keep{i}-{k}" for i in range(5) for k in range(10)}
    wait_for(lambda: expected <= set(dest.names()), timeout=30, what="the kept spans")
    m = a.metrics()
    assert m.sum("otelcol_exporter_queue_recovered_spans", exporter=EXPORTER) == 50
    assert m.sum("otelcol_exporter_send_failed_spans", exporter=EXPORTER) == 0
    a.stop()
    dest.down()


def test_a_second_collector_on_the_same_directory_is_refused(collector_factory, weft_bin, tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    a = collector_factory(queue_config(free_port(), free_port(), storage), name="a")
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump(queue_config(free_port(), free_port(), storage)))
    p = subprocess.run([weft_bin, "--config", str(second)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "is in use by another process" in p.stdout + p.stderr
    assert a.alive()


def test_storage_must_name_a_running_file_storage(collector_factory, weft_bin, tmp_path):
    config = queue_config(free_port(), free_port(), tmp_path)
    config["service"]["extensions"] = []
    path = tmp_path / "nostorage.yaml"
    path.write_text(yaml.safe_dump(config))
    p = subprocess.run([weft_bin, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert 'sending_queue.storage: failed to resolve storage "file_storage"' in p.stdout + p.stderr
    missing = queue_config(free_port(), free_port(), tmp_path / "nowhere")
    path.write_text(yaml.safe_dump(missing))
    p = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert "directory must exist" in p.stdout + p.stderr
