"""`weft plugin new / build / test / inspect`, used as a plugin author would: a new
project per SDK language, built with that language's toolchain and tested with its
generated test cases; then the tool's checks and errors on their own."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGS = ["c", "cpp", "go", "rust", "as"]


def weft(weft_bin, *args, cwd=None, timeout=600):
    return subprocess.run([weft_bin, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "WEFT_SDK_DIR": str(ROOT / "sdk")})


@pytest.mark.parametrize("lang", LANGS)
def test_new_project_builds_and_passes_its_own_test(weft_bin, tmp_path, lang):
    made = weft(weft_bin, "plugin", "new", "my-filter", "--lang", lang, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "my-filter"
    manifest = json.loads((project / "weft-plugin.json").read_text())
    assert manifest == {"name": "my-filter", "lang": lang}

    built = weft(weft_bin, "plugin", "build", cwd=project)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (project / "my-filter.wasm").is_file()

    tested = weft(weft_bin, "plugin", "test", cwd=project)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "PASS: 2 of 2 cases" in tested.stdout

    # The project's test really checks: a changed expectation fails with a diff.
    expected = project / "testdata" / "traces" / "expected.json"
    expected.write_text(expected.read_text().replace('"GET /items"', '"GET /other"', 1))
    failed = weft(weft_bin, "plugin", "test", cwd=project)
    assert failed.returncode == 1
    assert "- " in failed.stdout and "GET /other" in failed.stdout
    assert "FAIL: 1 of 2 cases" in failed.stdout

    inspected = weft(weft_bin, "plugin", "inspect", "--json", "my-filter.wasm", cwd=project)
    assert inspected.returncode == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    assert info["abi_version"] == "1"
    assert set(info["signals"]) == {"traces", "logs"}
    assert all(i.split(".")[0] in ("weft", "wasi_snapshot_preview1") for i in info["imports"])


def test_new_refuses_an_existing_directory_and_unknown_languages(weft_bin, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    r = weft(weft_bin, "plugin", "new", "taken", "--lang", "c", cwd=tmp_path)
    assert r.returncode == 2 and "not empty" in r.stderr
    r = weft(weft_bin, "plugin", "new", "x", "--lang", "cobol", cwd=tmp_path)
    assert r.returncode == 2 and "unknown language" in r.stderr


def test_build_outside_a_project_says_so(weft_bin, tmp_path):
    r = weft(weft_bin, "plugin", "build", cwd=tmp_path)
    assert r.returncode == 2 and "not a plugin project" in r.stderr


def test_test_prints_the_output_and_reports_bad_input(weft_bin, tmp_path):
    plugin = Path(weft_bin).parent / "plugins" / "filter.wasm"
    case = ROOT / "test" / "conformance" / "vectors" / "filter" / "traces-equals"
    r = weft(weft_bin, "plugin", "test", "--plugin", str(plugin), "--input",
             str(case / "input.json"), "--config", str(case / "config.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = [s["name"] for rs in out["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    assert len(names) == 4  # 6 spans, 2 with debug=true

    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": [{"scopeSpans": 5}]}')
    r = weft(weft_bin, "plugin", "test", "--plugin", str(plugin), "--input", str(bad))
    assert r.returncode == 2 and str(bad) in r.stderr

    bad.write_text('{"hello": 1}')
    r = weft(weft_bin, "plugin", "test", "--plugin", str(plugin), "--input", str(bad))
    assert r.returncode == 2 and "not an OTLP/JSON request" in r.stderr

    r = weft(weft_bin, "plugin", "test", "--plugin", str(tmp_path / "none.wasm"), "--input",
             str(case / "input.json"))
    assert r.returncode == 1 and "cannot load the plugin" in r.stderr


def test_inspect_lists_the_interface(weft_bin):
    plugin = Path(weft_bin).parent / "plugins" / "redact.wasm"
    r = weft(weft_bin, "plugin", "inspect", str(plugin))
    assert r.returncode == 0, r.stderr
    assert "ABI version:  1" in r.stdout
    assert "weft_process_logs(i32,i32)->(i32)" in r.stdout
    assert "weft.result_edits" in r.stdout
    assert f"size:         {plugin.stat().st_size} bytes" in r.stdout


def test_inspect_refuses_what_is_not_wasm(weft_bin, tmp_path):
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\0asm\x02\0\0\0garbage")
    r = weft(weft_bin, "plugin", "inspect", str(junk))
    assert r.returncode == 1 and "not a valid module" in r.stderr
