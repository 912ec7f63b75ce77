"""Lookup tables (service.tables) and the enrichment plugins on real traffic: `geoip` against a
real IP-to-country MaxMind DB (the npm package @ip-location-db/geo-whois-asn-country-mmdb,
fetched by scripts/setup-test-deps.sh) and a city-level database written here with
mmdb-writer, every item checked against an independent lookup with the `maxminddb` package;
`enrich` while its CSV is rewritten under load; malformed tables refused at start and kept
out on reload; permissions."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (
    attrs,
    free_port,
    otlp_receiver,
    post,
    read_output,
    wait_for,
    wait_for_count,
    weft_cache,
)

GEO_DB_VERSION = os.environ.get("GEO_DB_VERSION", "2.3.2026061719")


def plugin(name: str) -> str:
    return str(Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / f"{name}.wasm")


def country_db() -> Path:
    path = weft_cache() / "data" / f"geo-whois-asn-country-{GEO_DB_VERSION}" / "geo-whois-asn-country.mmdb"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/setup-test-deps.sh", pytrace=False)
    return path


def config(out: Path, http_port: int, processors: dict, tables: dict) -> dict:
    return {
        "receivers": {"otlp": otlp_receiver(http_port=http_port)},
        "processors": processors,
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "tables": tables,
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": list(processors), "exporters": ["file"]},
            },
        },
    }


def trace_request(resources: list[tuple[dict, list[dict]]]):
    """An ExportTraceServiceRequest: for each resource, its attributes and its spans'."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2

    def put(target, values: dict) -> None:
        for k, v in values.items():
            kv = target.add(key=k)
            if isinstance(v, str):
                kv.value.string_value = v
            elif isinstance(v, int):
                kv.value.int_value = v
            else:
                kv.value.double_value = v

    req = trace_service_pb2.ExportTraceServiceRequest()
    n = 0
    for resource_attrs, spans in resources:
        rs = req.resource_spans.add()
        put(rs.resource.attributes, resource_attrs)
        ss = rs.scope_spans.add()
        for span_attrs in spans:
            n += 1
            sp = ss.spans.add()
            sp.trace_id = random.randbytes(16)
            sp.span_id = n.to_bytes(8, "big")
            sp.name = "request"
            put(sp.attributes, span_attrs)
    return req.SerializeToString()


def send(port: int, body: bytes) -> None:
    r = post(port, "/v1/traces", body)
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- geoip

PRIVATE = ["10.1.2.3", "192.168.0.17", "172.20.1.1", "127.0.0.1", "169.254.10.10", "100.64.3.3",
           "::1", "fe80::1", "fd12:3456::7", "[::1]:443", "10.0.0.1:8080"]
INVALID = ["not-an-ip", "999.1.1.1", "1.2.3", "01.2.3.4", "2001:db8::1::2", "", "1.2.3.4.5"]


def public_addresses(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = ["8.8.8.8", "1.1.1.1", "81.2.69.142", "2a00:1450:4001:82b::200e", "2606:4700:4700::1111",
           "8.8.4.4:53", "[2001:4860:4860::8888]:443"]
    while len(out) < n:
        if rng.random() < 0.8:
            a = ipaddress.IPv4Address(rng.getrandbits(32))
        else:
            a = ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))  # 2000::/3
        if a.is_global and not a.is_multicast:
            out.append(str(a))
    return out


def strip_port(address: str) -> str:
    if address.startswith("["):
        return address[1:address.index("]")]
    if address.count(":") == 1:
        return address.split(":")[0]
    return address


def expected_geo(record: dict | None) -> dict:
    """The attributes the geoip plugin documents for a database record."""
    if not record:
        return {}
    out = {}
    country = (record.get("country") or {}).get("iso_code") or record.get("country_code") or \
        (record.get("registered_country") or {}).get("iso_code")
    if country:
        out["geo.country.iso_code"] = country
    subs = record.get("subdivisions") or []
    if subs and subs[0].get("iso_code"):
        code = subs[0]["iso_code"]
        out["geo.region.iso_code"] = code if "-" in code or not country else f"{country}-{code}"
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    if city:
        out["geo.locality.name"] = city
    postal = (record.get("postal") or {}).get("code")
    if postal:
        out["geo.postal_code"] = postal
    continent = (record.get("continent") or {}).get("code")
    if continent:
        out["geo.continent.code"] = continent
    loc = record.get("location") or {}
    if "latitude" in loc and "longitude" in loc:
        out["geo.location.lat"] = float(loc["latitude"])
        out["geo.location.lon"] = float(loc["longitude"])
    if "autonomous_system_number" in record:
        out["as.number"] = int(record["autonomous_system_number"])
    if record.get("autonomous_system_organization"):
        out["as.organization.name"] = record["autonomous_system_organization"]
    return out


def geo_attrs(a: dict) -> dict:
    return {k: v for k, v in a.items() if k.startswith("geo.") or k.startswith("as.")}


def run_geoip(collector_factory, tmp_path, db: Path, addresses: list[str], name: str):
    out = tmp_path / f"{name}.jsonl"
    port = free_port()
    processors = {"wasm/geoip": {"plugin": plugin("geoip"), "config": {"table": "geo"},
                                 "permissions": {"tables": ["geo"]}}}
    c = collector_factory(config(out, port, processors, {"geo": {"path": str(db)}}), name=name)
    # Addresses on spans, 100 per request; and one on a resource whose spans have none.
    sent = 0
    for start in range(0, len(addresses), 100):
        chunk = addresses[start:start + 100]
        spans = [{"client.address": a, "seq": start + i} for i, a in enumerate(chunk)]
        send(port, trace_request([({"service.name": "edge"}, spans)]))
        sent += len(spans)
    send(port, trace_request([({"service.name": "proxy", "client.address": "8.8.8.8"},
                               [{"seq": -1}, {"seq": -1}])]))
    sent += 2
    f = wait_for_count(out, "traces", sent)
    assert f.span_count == sent
    return c, f


def check_against_reader(f, db: Path, addresses: list[str]) -> tuple[int, int]:
    import maxminddb

    found = missed = 0
    with maxminddb.open_database(str(db)) as reader:
        for s in f.spans:
            a = attrs(s["span"].get("attributes"))
            r = attrs(s["resource"].get("attributes"))
            if a["seq"] == -1:  # the address is the resource's: so are the attributes
                assert geo_attrs(a) == {}
                assert geo_attrs(r) == expected_geo(reader.get("8.8.8.8")) != {}
                continue
            assert geo_attrs(r) == {}
            address = addresses[a["seq"]]
            try:
                ip = ipaddress.ip_address(strip_port(address))
                public = ip.is_global and not ip.is_multicast
            except ValueError:
                public = False
            want = expected_geo(reader.get(strip_port(address))) if public else {}
            assert geo_attrs(a) == want, f"{address}: {geo_attrs(a)} != {want}"
            if want:
                found += 1
            elif public:
                missed += 1
    return found, missed


def test_geoip_with_a_real_country_database(collector_factory, tmp_path):
    db = country_db()
    addresses = public_addresses(400, seed=7) + PRIVATE + INVALID
    c, f = run_geoip(collector_factory, tmp_path, db, addresses, "geoip-country")
    found, _ = check_against_reader(f, db, addresses)
    assert found >= 250, f"only {found} of 400 public addresses found in the database"
    m = c.metrics()
    assert m.sum("weft_plugin_geoip_items", result="private") == len(PRIVATE)
    assert m.sum("weft_plugin_geoip_items", result="invalid") == len(INVALID)
    assert m.sum("weft_plugin_geoip_items", result="hit") == found + 1  # and the resource
    assert m.sum("weft_table_lookups", table="geo", result="hit") >= found
    assert m.sum("weft_table_entries", table="geo") > 0


def write_city_db(path: Path) -> dict[str, dict]:
    """A city-level database with MaxMind's layout; returns the records by network."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    records = {
        "203.0.113.0/25": {
            "city": {"names": {"en": "Montréal", "fr": "Montréal", "de": "Montreal"}},
            "continent": {"code": "NA", "names": {"en": "North America"}},
            "country": {"iso_code": "CA", "names": {"en": "Canada"}},
            "location": {"latitude": 45.5019, "longitude": -73.5674, "time_zone": "America/Toronto"},
            "postal": {"code": "H2X"},
            "subdivisions": [{"iso_code": "QC", "names": {"en": "Quebec"}}],
            "autonomous_system_number": 64500,
            "autonomous_system_organization": "Example Transit",
        },
        "198.51.100.0/24": {
            "city": {"names": {"en": "Zürich"}},
            "country": {"iso_code": "CH"},
            "location": {"latitude": 47.3769, "longitude": 8.5417},
            "subdivisions": [{"iso_code": "ZH"}],
        },
        "2001:db8:1::/48": {
            "country": {"iso_code": "JP"},
            "registered_country": {"iso_code": "US"},
            "city": {"names": {"en": "Tokyo", "ja": "東京"}},
            "location": {"latitude": 35.6762, "longitude": 139.6503},
        },
        "192.0.2.0/24": {"registered_country": {"iso_code": "DE"}},
    }
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="weft-test-City",
                   languages=["en"], description="weft test city database")
    for network, record in records.items():
        w.insert_network(IPSet([network]), record)
    w.to_db_file(str(path))
    return records


def test_geoip_with_a_city_database_written_here(collector_factory, tmp_path):
    db = tmp_path / "city.mmdb"
    write_city_db(db)
    addresses = ["203.0.113.5", "203.0.113.200", "198.51.100.77", "2001:db8:1::42", "192.0.2.9",
                 "[2001:db8:1::1]:8443", "203.0.113.6:443"] * 5 + PRIVATE
    # 2001:db8::/32 and the TEST-NET ranges are documentation ranges: not global to Python's
    # ipaddress, but public to the plugin; check them against the database directly.
    out = tmp_path / "city.jsonl"
    port = free_port()
    processors = {"wasm/geoip": {"plugin": plugin("geoip"), "config": {"table": "city"},
                                 "permissions": {"tables": ["city"]}}}
    collector_factory(config(out, port, processors, {"city": {"path": str(db)}}), name="geoip-city")
    spans = [{"client.address": a, "seq": i} for i, a in enumerate(addresses)]
    send(port, trace_request([({"service.name": "edge"}, spans)]))
    f = wait_for_count(out, "traces", len(spans))
    import maxminddb

    with maxminddb.open_database(str(db)) as reader:
        for s in f.spans:
            a = attrs(s["span"].get("attributes"))
            address = addresses[a["seq"]]
            private = address in PRIVATE
            want = {} if private else expected_geo(reader.get(strip_port(address)))
            assert geo_attrs(a) == want, f"{address}: {geo_attrs(a)} != {want}"
    first = attrs(f.spans[0]["span"]["attributes"])
    assert first["geo.region.iso_code"] == "CA-QC"
    assert first["geo.locality.name"] == "Montréal"
    assert first["as.number"] == 64500
    assert abs(first["geo.location.lat"] - 45.5019) < 1e-9


# --------------------------------------------------------------------------- enrich

SERVICES = ["checkout", "frontend", "search", "cart", "ads"]


def write_teams(path: Path, version: int, in_place: bool = False) -> None:
    lines = ["service.name,team,owner,cost_center,tier"]
    for i, s in enumerate(SERVICES):
        lines.append(f"{s},team-{s}-v{version},owner{i}@example.com,cc-{100 + i},v{version}")
    text = "\n".join(lines) + "\n"
    if in_place:
        path.write_text(text)
    else:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


def test_enrich_while_the_table_is_rewritten_under_load(collector_factory, tmp_path):
    table = tmp_path / "teams.csv"
    write_teams(table, 1)
    out = tmp_path / "enrich.jsonl"
    port = free_port()
    processors = {"wasm/enrich": {
        "plugin": plugin("enrich"),
        "config": {"table": "teams", "key": "service.name",
                   "fields": ["team", "owner", "cost_center", "tier"],
                   "default": {"team": "unassigned", "tier": "none"}},
        "permissions": {"tables": ["teams"]},
    }}
    tables = {"teams": {"path": str(table), "key": "service.name", "watch_interval": "50ms"}}
    c = collector_factory(config(out, port, processors, tables), name="enrich")

    stop = threading.Event()
    sent: list[int] = []
    errors: list[str] = []

    def sender():
        seq = 0
        try:
            while not stop.is_set() or seq < 200:
                resources = []
                for s in SERVICES + ["unknown-service"]:
                    resources.append(({"service.name": s, "seq": seq},
                                      [{"n": k} for k in range(5)]))
                send(port, trace_request(resources))
                sent.append(seq)
                seq += 1
        except AssertionError as e:  # reported below
            errors.append(str(e))

    t = threading.Thread(target=sender)
    t.start()
    for version in range(2, 7):
        time.sleep(0.4)
        write_teams(table, version, in_place=(version == 4))
    time.sleep(0.4)
    stop.set()
    t.join(timeout=60)
    assert not errors, errors
    expected = len(sent) * (len(SERVICES) + 1) * 5
    f = wait_for_count(out, "traces", expected)
    assert f.span_count == expected

    version_of_request: dict[int, int] = {}
    for s in f.spans:
        r = attrs(s["resource"].get("attributes"))
        seq, service = r["seq"], r["service.name"]
        if service == "unknown-service":
            assert r["team"] == "unassigned" and r["tier"] == "none"
            assert "owner" not in r
            continue
        version = int(r["tier"][1:])
        i = SERVICES.index(service)
        # Whole rows of one version: never torn.
        assert r == {"service.name": service, "seq": seq, "team": f"team-{service}-v{version}",
                     "owner": f"owner{i}@example.com", "cost_center": f"cc-{100 + i}",
                     "tier": f"v{version}"}
        # One version per request (a batch sees one version of the table).
        assert version_of_request.setdefault(seq, version) == version
    # Requests were sent one after another: the versions they saw never go back.
    versions = [version_of_request[seq] for seq in sorted(version_of_request)]
    assert versions == sorted(versions)
    assert len(set(versions)) >= 4, f"the table was swapped too rarely under load: {set(versions)}"
    assert versions[-1] == 6
    m = c.metrics()
    assert m.sum("weft_table_reloads", table="teams", outcome="ok") >= 4
    assert m.sum("weft_table_lookups", table="teams", result="miss") == len(sent)


# --------------------------------------------------------------------------- bad tables


def validate(weft_bin: str, tmp_path: Path, cfg: dict) -> subprocess.CompletedProcess:
    import yaml

    path = tmp_path / "validate.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def enrich_processor(table: str = "teams", granted: list[str] | None = None) -> dict:
    return {"wasm/enrich": {"plugin": plugin("enrich"),
                            "config": {"table": table, "key": "service.name"},
                            "permissions": {"tables": granted if granted is not None else [table]}}}


def test_malformed_tables_are_refused_at_start(weft_bin, tmp_path):
    out = tmp_path / "never.jsonl"
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("service.name,team\ncheckout,payments\nsearch,a,b\n")
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(),
                                            {"teams": {"path": str(bad_csv)}}))
    assert r.returncode != 0
    assert "table teams" in r.stderr and "line 3: 3 columns, the header has 2" in r.stderr, r.stderr

    bad_db = tmp_path / "bad.mmdb"
    bad_db.write_bytes(b"\x00" * 4096)
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(),
                                            {"teams": {"path": str(bad_db)}}))
    assert r.returncode != 0 and "not a MaxMind DB" in r.stderr, r.stderr

    good = tmp_path / "good.csv"
    good.write_text("service.name,team\ncheckout,payments\n")
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(),
                                            {"teams": {"path": str(good), "key": "team_id"}}))
    assert r.returncode != 0 and 'no key column "team_id"' in r.stderr, r.stderr
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(granted=["other"]),
                                            {"teams": {"path": str(good)}}))
    assert r.returncode != 0
    assert 'permissions.tables grants table "other", which service.tables does not declare' in r.stderr
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(),
                                            {"teams": {"path": str(tmp_path / "teams.txt")}}))
    assert r.returncode != 0 and "does not end in .csv, .json, .mmdb or .jwks" in r.stderr, r.stderr
    r = validate(weft_bin, tmp_path, config(out, 4318, enrich_processor(),
                                            {"teams": {"path": str(good)}}))
    assert r.returncode == 0, r.stderr


def test_a_bad_rewrite_keeps_the_table_in_force_and_ungranted_tables_are_denied(
        collector_factory, tmp_path):
    table = tmp_path / "teams.csv"
    table.write_text("service.name,team\ncheckout,payments\n")
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"checkout": {"password": "hunter2"}}')
    out = tmp_path / "out.jsonl"
    port = free_port()
    processors = {
        **enrich_processor(),
        # Reads a table it was not granted: denied (-3), so nothing is added.
        "wasm/sneaky": {"plugin": plugin("enrich"),
                        "config": {"table": "secrets", "key": "service.name"}},
    }
    tables = {"teams": {"path": str(table), "watch_interval": "50ms"},
              "secrets": {"path": str(secrets)}}
    c = collector_factory(config(out, port, processors, tables), name="bad-rewrite")
    send(port, trace_request([({"service.name": "checkout"}, [{"n": 1}])]))
    wait_for_count(out, "traces", 1, settle=0)

    table.write_text("service.name,team\ncheckout,payments,extra\n")
    wait_for(lambda: c.metrics().sum("weft_table_reloads", table="teams", outcome="failed") >= 1,
             10, what="the failed reload")
    assert "the version loaded before stays in force" in c.log_text()
    send(port, trace_request([({"service.name": "checkout"}, [{"n": 2}])]))
    f = wait_for_count(out, "traces", 2)
    for s in f.spans:
        r = attrs(s["resource"].get("attributes"))
        assert r.get("team") == "payments"
        assert "password" not in r
    m = c.metrics()
    assert m.sum("weft_plugin_denied_calls") >= 2
    assert "call=lookup table=secrets" in c.log_text()


def test_geoip_from_the_requests_client_address(collector_factory, tmp_path):
    """from: client reads the address the request came from (the receiver's client metadata):
    on loopback that is a private address, counted and never looked up."""
    out = tmp_path / "client.jsonl"
    port = free_port()
    processors = {"wasm/geoip": {"plugin": plugin("geoip"),
                                 "config": {"table": "geo", "from": "client"},
                                 "permissions": {"tables": ["geo"]}}}
    c = collector_factory(config(out, port, processors,
                                 {"geo": {"path": str(Path(__file__).resolve().parents[2] /
                                                      "plugins/geoip/sample.mmdb")}}),
                          name="geoip-client")
    send(port, trace_request([({"service.name": "a"}, [{"n": 1}, {"n": 2}]),
                              ({"service.name": "b"}, [{"n": 3}])]))
    f = wait_for_count(out, "traces", 3)
    assert all(geo_attrs(attrs(s["resource"].get("attributes"))) == {} for s in f.spans)
    m = c.metrics()
    assert m.sum("weft_plugin_geoip_items", result="private") == 2  # once per resource
    assert m.sum("weft_table_lookups", table="geo") == 0
