"""Catalog validation: the real catalogs load; every bad entry fails with one precise line."""
from __future__ import annotations

import copy

import pytest
import yaml

from helpers import catalog, claims
from helpers.catalog import CatalogError, parse_catalog

REQUIRED_ACCELERATORS = ["a100", "h100", "h200", "b200", "gb200", "b300", "gb300", "rubin",
                         "mi300x", "mi325x", "mi355x", "tpu_v5e", "tpu_v5p", "tpu_v6e", "tpu7x"]
REQUIRED_MODELS = ["deepseek_v3", "deepseek_v3_2", "kimi_k2", "qwen3_235b_a22b", "gpt_oss_120b",
                   "llama3_8b", "llama3_70b", "llama3_405b", "mixtral_8x7b", "mixtral_8x22b"]


@pytest.mark.parametrize("kind", ["accelerators", "models", "prices"])
def test_real_catalogs_load_and_every_value_is_sourced(kind):
    entries = catalog.load(kind)
    assert entries
    for e in entries.values():
        for f in e.fields.values():
            assert f.source.url.startswith("https://"), (e.key, f.name)
            assert f.source.tag in catalog.TAGS
            assert f.si is not None or f.missing, (e.key, f.name)
            assert "ref " not in f.source.url


def test_required_accelerators_have_every_required_field():
    """A number, or for FP8 only an explicit reason why there is none (A100, TPU v4/v5e)."""
    accs = catalog.accelerators()
    required = [n for n, (_, req) in catalog.SCHEMAS["accelerators"].items() if req]
    for key in REQUIRED_ACCELERATORS:
        for name in required:
            field = accs[key].fields[name]
            if name == "fp8_dense_flops" and field.si is None:
                assert field.missing
            else:
                assert accs[key].has(name), f"{key}.{name} has no value"
    assert not accs["a100"].has("fp8_dense_flops") and accs["h100"].has("fp8_dense_flops")


def test_required_models_have_kv_shape():
    models = catalog.models()
    for key in REQUIRED_MODELS:
        m = models[key]
        if m.text["attention"] == "mla":
            assert m.has("kv_lora_rank") and m.has("qk_rope_head_dim")
        else:
            assert m.has("n_kv_heads") and m.has("head_dim")
    assert models["deepseek_v3_2"].has("index_topk")


def test_claims_catalog_lists_every_claim_id():
    ids = set(claims.load())
    expected = {f"RP-{i}" for i in range(1, 23)} | {f"SQ-{i}" for i in range(1, 7)} \
        | {"L3-1", "L3-2", "L3-3", "MISC-1", "RP-23"} | {f"GB-{i}" for i in range(1, 7)}
    assert ids == expected


GOOD = {
    "sources": {"s": {"url": "https://example.org/x", "title": "t", "date": "2024-01-02",
                      "tag": "primary"}},
    "entries": {"chip": {
        "name": "Chip",
        "launch": {"value": 2024, "unit": "year", "source": "s"},
        "hbm_capacity": {"value": 80, "unit": "GB", "source": "s"},
        "hbm_bandwidth": {"value": 3.35, "unit": "TB/s", "source": "s"},
        "bf16_dense_flops": {"value": 989.4, "unit": "TFLOP/s", "source": "s"},
        "fp8_dense_flops": {"value": 1978.9, "unit": "TFLOP/s", "source": "s"},
        "scale_up_domain": {"value": 8, "unit": "count", "source": "s"},
        "scale_up_bandwidth": {"value": 450, "unit": "GB/s", "source": "s"},
        "scale_out_bandwidth": {"value": 400, "unit": "Gb/s", "source": "s"},
    }},
}


def mutate(path, value=None, delete=False):
    data = copy.deepcopy(GOOD)
    node = data
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_good_entry_converts_to_si():
    e = parse_catalog("hw.yaml", "accelerators", GOOD)["chip"]
    assert e.hbm_bandwidth == pytest.approx(3.35e12)
    assert e.scale_out_bandwidth == pytest.approx(50e9)       # 400 Gb/s is 50 GB/s
    assert e.hbm_capacity == 80e9


def test_a_range_is_in_si_and_derived_from_alternatives_or_the_other_reading():
    data = mutate(["entries", "chip", "hbm_bandwidth", "range"],
                  {"low": 3, "high": 3.5, "basis": "measured spread"})
    data["entries"]["chip"]["hbm_capacity"]["also_read_as"] = "GiB"
    data["entries"]["chip"]["bf16_dense_flops"]["alternatives"] = [
        {"value": 900, "unit": "TFLOP/s", "source": "s"}]
    e = parse_catalog("hw.yaml", "accelerators", data)["chip"]
    f = e.fields["hbm_bandwidth"]
    assert f.range_si == (3e12, 3.5e12) and f.range_basis == "measured spread"
    assert e.fields["hbm_capacity"].range_si == (80e9, 80 * 2**30)
    assert "also_read_as" in e.fields["hbm_capacity"].range_basis
    assert e.fields["bf16_dense_flops"].range_si == pytest.approx((900e12, 989.4e12))
    assert e.fields["launch"].range_si is None          # one reading: a point, not a range


BAD = [
    (mutate(["entries", "chip", "hbm_bandwidth"], delete=True),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': missing required field"),
    (mutate(["entries", "chip", "hbm_bandwith"], {"value": 1, "unit": "TB/s", "source": "s"}),
     "hw.yaml: entry 'chip', field 'hbm_bandwith': unknown field (did you mean 'hbm_bandwidth'?)"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], "fast"),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value 'fast' is text"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], 0),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value 0 must be positive"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], -3.35),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value -3.35 must be positive"),
    (mutate(["entries", "chip", "hbm_bandwidth"], "3.35 TB/s"),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': must be a mapping {value, unit, source}"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], "3.35 TB/s"),
     "write the number alone and the unit in 'unit'"),
    (mutate(["entries", "chip", "hbm_bandwidth", "unit"], "TB/sec"),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': unknown unit 'TB/sec' (did you mean"),
    (mutate(["entries", "chip", "hbm_bandwidth", "unit"], "GB"),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': unit 'GB' is bytes, expected bytes/s"),
    (mutate(["entries", "chip", "hbm_bandwidth", "source"], "nowhere"),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': source 'nowhere' is not listed"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], None),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value is null"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], float("nan")),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value nan is not a number"),
    (mutate(["entries", "chip", "hbm_bandwidth", "value"], True),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': value True is not a number"),
    (mutate(["entries", "chip", "name"], delete=True),
     "hw.yaml: entry 'chip', field 'name': missing required field"),
    (mutate(["sources", "s", "tag"], "tertiary"),
     "hw.yaml: entry 'sources.s', field 'tag': 'tertiary' is not one of"),
    (mutate(["sources", "s", "date"], "last year"),
     "hw.yaml: entry 'sources.s', field 'date': 'last year' is not YYYY-MM-DD"),
    (mutate(["sources", "s", "url"], "http://example.org"),
     "hw.yaml: entry 'sources.s', field 'url': must be an https:// URL"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], {"low": 3.4, "high": 4, "basis": "b"}),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range: low 3.4 <= value 3.35 <= high 4 does "
     "not hold (all in TB/s)"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], {"low": 0, "high": 4, "basis": "b"}),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range: low 0 must be positive"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], {"low": 3, "high": 4}),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range: missing 'basis'"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], {"low": 3, "hi": 4, "basis": "b"}),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range: unknown key 'hi'"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], [3, 4]),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range must be a mapping {low, high, basis}"),
    (mutate(["entries", "chip", "hbm_bandwidth", "range"], {"low": "3 TB/s", "high": 4,
                                                              "basis": "b"}),
     "hw.yaml: entry 'chip', field 'hbm_bandwidth': range: low '3 TB/s' is not a number"),
    (None, "hw.yaml: entry '-': file is empty"),
    ([1, 2], "hw.yaml: top level must be a mapping"),
]


@pytest.mark.parametrize("data,message", BAD)
def test_bad_entries_fail_with_one_line_naming_file_entry_field(data, message):
    with pytest.raises(CatalogError) as err:
        parse_catalog("hw.yaml", "accelerators", data)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_not_yaml_and_unknown_name(tmp_path):
    bad = tmp_path / "hw.yaml"
    bad.write_text("entries: [unclosed\n")
    with pytest.raises(CatalogError, match=r"hw.yaml: not valid YAML at line \d+"):
        catalog.read_yaml(bad)
    with pytest.raises(CatalogError, match="unknown accelerator 'h1000'; did you mean h100"):
        catalog.lookup("accelerators", "h1000")


MODEL = """
sources: {s: {url: "https://example.org", title: t, date: 2024-01, tag: primary}}
entries:
  m:
    name: M
    attention: gqa
    total_params: {value: 8, unit: billion, source: s}
    active_params: {value: 8, unit: billion, source: s}
    n_layers: {value: 32, unit: count, source: s}
    n_heads: {value: 32, unit: count, source: s}
    n_kv_heads: {value: 8, unit: count, source: s}
"""


def test_model_active_cannot_exceed_total():
    data = yaml.safe_load(MODEL)
    data["entries"]["m"]["active_params"]["value"] = 9
    with pytest.raises(CatalogError,
                       match="entry 'm', field 'active_params': exceeds total_params"):
        parse_catalog("models.yaml", "models", data)


def test_hardware_show_prints_an_entry_that_loads_back(tmp_path):
    """`python -m helpers hardware show NAME` is meant to be copied and edited: it must parse."""
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "helpers", "hardware", "show", "b200"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    hw = tmp_path / "b200.yaml"
    hw.write_text(proc.stdout)
    (entry,) = parse_catalog(hw, "accelerators", catalog.read_yaml(hw)).values()
    original = catalog.lookup("accelerators", "b200")
    assert {n: f.si for n, f in entry.fields.items()} == \
        {n: f.si for n, f in original.fields.items()}


def test_duplicate_key_is_refused(tmp_path):
    hw = tmp_path / "hw.yaml"
    hw.write_text("entries:\n  chip:\n    name: a\n    name: b\n")
    with pytest.raises(CatalogError,
                       match=r"hw.yaml: not valid YAML at line 4: key 'name' appears twice"):
        catalog.read_yaml(hw)


def test_aliases_must_be_a_list_and_unique():
    data = mutate(["entries", "chip", "aliases"], "h100")  # a string, not a list
    with pytest.raises(CatalogError, match="entry 'chip', field 'aliases': must be a list"):
        parse_catalog("hw.yaml", "accelerators", data)
    data = copy.deepcopy(GOOD)
    data["entries"]["other"] = copy.deepcopy(GOOD["entries"]["chip"])
    data["entries"]["chip"]["aliases"] = ["other"]          # collides with the entry 'other'
    with pytest.raises(CatalogError, match="entry 'other', field 'aliases': 'other' already names"):
        parse_catalog("hw.yaml", "accelerators", data)


def test_attention_kind_needs_its_shape_fields():
    with pytest.raises(CatalogError,
                       match="entry 'm', field 'head_dim': missing; attention 'gqa' needs"):
        parse_catalog("models.yaml", "models", yaml.safe_load(MODEL))
    ok = yaml.safe_load(MODEL)
    ok["entries"]["m"]["head_dim"] = {"value": 128, "unit": "count", "source": "s"}
    ok["entries"]["m"]["shared_experts"] = {"value": 0, "unit": "count", "source": "s"}
    assert parse_catalog("models.yaml", "models", ok)["m"].shared_experts == 0
    ok["entries"]["m"]["n_layers"]["value"] = 0        # zero is a real answer only for some counts
    with pytest.raises(CatalogError, match="field 'n_layers': value 0 must be positive"):
        parse_catalog("models.yaml", "models", ok)


def test_a_missing_field_names_file_and_entry():
    with pytest.raises(AttributeError, match="entry 'a100' has no field 'tdp_peak'"):
        _ = catalog.lookup("accelerators", "a100").tdp_peak


def test_price_sheets_are_dated():
    data = yaml.safe_load("""
sources: {s: {url: "https://example.org", title: t, date: 2024-01, tag: primary}}
entries:
  p:
    name: P
    input: {value: 1, unit: USD/Mtok, source: s}
    output: {value: 5, unit: USD/Mtok, source: s}
""")
    with pytest.raises(CatalogError, match="entry 'p', field 'date': a price sheet needs its date"):
        parse_catalog("prices.yaml", "prices", data)
    data["entries"]["p"]["date"] = "2026-02"
    assert parse_catalog("prices.yaml", "prices", data)["p"].text["date"] == "2026-02"


OPEN = """
sources:
  s: {url: "https://example.org", title: t, date: 2025-01-01, tag: primary}
entries:
  fit:
    name: A fit
    date: 2024-04
    alpha: {value: 0.34, unit: ratio, source: s}
    budget: {value: 5.76e23, unit: FLOP, source: s}
"""


def test_open_catalogs_load_every_file_and_take_dimensions_from_units():
    assert catalog.kinds()[:3] == ["accelerators", "models", "prices"]
    for kind in catalog.kinds():
        assert catalog.load(kind), kind
    fit = parse_catalog("fits.yaml", "fits", yaml.safe_load(OPEN))["fit"]
    # PyYAML reads 5.76e23 as the text '5.76e23' (YAML 1.1); a number in text is taken as a number
    assert fit.alpha == 0.34 and fit.budget == 5.76e23 and fit.text["date"] == "2024-04"


@pytest.mark.parametrize("edit, message", [
    (lambda e: e["fit"]["alpha"].update(unit="furlongs"), "field 'alpha': unknown unit 'furlongs'"),
    (lambda e: e["fit"]["alpha"].update(value="a third"), "field 'alpha': value 'a third' is text"),
    (lambda e: e["fit"].update(Bad={"value": 1}), "field 'Bad': field names are lower_snake_case"),
    (lambda e: e["fit"].pop("name"), "field 'name': missing required field"),
    (lambda e: e["fit"].update(beta=0.28), "field 'beta': must be a mapping"),
])
def test_open_catalog_errors_name_file_entry_and_field(edit, message):
    data = yaml.safe_load(OPEN)
    edit(data["entries"])
    expected = "^fits.yaml: entry 'fit', " + message.replace("(", r"\(")
    with pytest.raises(CatalogError, match=expected):
        parse_catalog("fits.yaml", "fits", data)


def test_unknown_catalog_kind_is_one_line():
    with pytest.raises(CatalogError,
                       match="unknown catalog 'acelerators'; did you mean accelerators"):
        catalog.load("acelerators")
