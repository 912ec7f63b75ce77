"""Writes sample.mmdb: a tiny city-level MaxMind DB over the documentation address ranges
(RFC 5737, RFC 3849), so example.yaml runs without a real database. Needs the PyPI packages
mmdb-writer and netaddr (in the test venv): python plugins/geoip/sample_db.py"""

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

RECORDS = {
    "192.0.2.0/24": {"city": {"names": {"en": "Lisbon"}}, "country": {"iso_code": "PT"},
                     "continent": {"code": "EU"}, "subdivisions": [{"iso_code": "11"}],
                     "location": {"latitude": 38.7223, "longitude": -9.1393}},
    "198.51.100.0/24": {"city": {"names": {"en": "Nairobi"}}, "country": {"iso_code": "KE"},
                        "continent": {"code": "AF"},
                        "location": {"latitude": -1.2921, "longitude": 36.8219}},
    "203.0.113.0/24": {"city": {"names": {"en": "Osaka"}}, "country": {"iso_code": "JP"},
                       "continent": {"code": "AS"}, "subdivisions": [{"iso_code": "27"}],
                       "location": {"latitude": 34.6937, "longitude": 135.5023}},
    "2001:db8::/32": {"city": {"names": {"en": "Valparaíso"}}, "country": {"iso_code": "CL"},
                      "continent": {"code": "SA"},
                      "location": {"latitude": -33.0472, "longitude": -71.6127}},
}

writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="weft-sample-City",
                    languages=["en"], description="weft's sample database (documentation ranges)")
for network, record in RECORDS.items():
    writer.insert_network(IPSet([network]), record)
writer.to_db_file(str(Path(__file__).resolve().parent / "sample.mmdb"))
