"""Cross-language conformance: every SDK language's build of an example plugin gives the
output of the C build (the reference) on every shared vector.

Vectors: vectors/<plugin>/<case>/{input,config,expected}.json (generate.py writes them).
Builds: $WEFT_PLUGIN_DIR/<plugin>.wasm for C, $WEFT_PLUGIN_DIR/<lang>/<plugin>.wasm for the
others (`make sdk-examples`). A build that should exist and does not is a failure.
"""
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WEFT = Path(os.environ.get("WEFT_BIN", "build/weft"))
PLUGINS = Path(os.environ.get("WEFT_PLUGIN_DIR", WEFT.parent / "plugins"))

# The examples each language's SDK ships (issue: filter and transform everywhere, redact in
# C, Go and Rust).
EXAMPLES = {
    "c": ["filter", "transform", "redact"],
    "cpp": ["filter", "transform"],
    "go": ["filter", "transform", "redact"],
    "rust": ["filter", "transform", "redact"],
    "as": ["filter", "transform"],
}


def module(lang, plugin):
    return PLUGINS / f"{plugin}.wasm" if lang == "c" else PLUGINS / lang / f"{plugin}.wasm"


def cases():
    for lang, plugins in EXAMPLES.items():
        for plugin in plugins:
            for case in sorted((HERE / "vectors" / plugin).iterdir()):
                yield pytest.param(lang, plugin, case, id=f"{lang}-{plugin}-{case.name}")


def test_every_example_has_vectors():
    for plugins in EXAMPLES.values():
        for plugin in plugins:
            assert any((HERE / "vectors" / plugin).glob("*/expected.json")), plugin


@pytest.mark.parametrize("lang,plugin,case", cases())
def test_vector(lang, plugin, case):
    wasm = module(lang, plugin)
    assert wasm.is_file(), f"{wasm} is not built (make sdk-examples)"
    run = subprocess.run([str(WEFT), "plugin", "test", "--plugin", str(wasm),
                          "--input", str(case / "input.json"), "--config", str(case / "config.json"),
                          "--expect", str(case / "expected.json")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("ok: "), run.stdout


@pytest.mark.parametrize("lang", [lang for lang in EXAMPLES if lang != "c"])
def test_bad_config_is_refused(lang):
    """A config the C build refuses is refused too (the message is the plugin's own)."""
    case = HERE / "vectors" / "filter" / "traces-equals"
    bad = case.parent.parent.parent / "bad-filter-config.json"
    run = subprocess.run([str(WEFT), "plugin", "test", "--plugin", str(module(lang, "filter")),
                          "--input", str(case / "input.json"), "--config", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "cannot load the plugin" in run.stderr
    assert "weft_configure returned" in run.stderr
