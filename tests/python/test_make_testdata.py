"""make_testdata.py regenerates the oracle's outputs whenever anything they depend on changes:
the golden inputs, the default model, the pinned and installed versions, the CPU kernels torch
picks (not only the scripts)."""
import importlib.util
import json
import pathlib
import shutil

import pytest

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def make_testdata():
    spec = importlib.util.spec_from_file_location("make_testdata", HERE / "make_testdata.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines functions only; main() runs under __main__
    return module


@pytest.fixture
def tree(tmp_path):
    source = tmp_path / "src"
    (source / "tests" / "data").mkdir(parents=True)
    (source / "tests" / "data" / "golden.jsonl").write_text('{"text": "a"}\n')
    (source / "scripts").mkdir()
    (source / "scripts" / "requirements-oracle.txt").write_text("sentence-transformers==6.2.0\n")
    model = tmp_path / "model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights")
    (model / "1_Pooling" / "config.json").write_text("{}")
    return source, model


def test_digest_is_stable(make_testdata, tree):
    source, model = tree
    assert make_testdata.shared_inputs(source, str(model)) == make_testdata.shared_inputs(source, str(model))


@pytest.mark.parametrize("change", ["golden edited", "golden added", "model weights", "model file added",
                                    "other model", "pins"])
def test_digest_changes_with_every_input(make_testdata, tree, tmp_path, change):
    source, model = tree
    before = make_testdata.shared_inputs(source, str(model))
    model_arg = str(model)
    if change == "golden edited":
        (source / "tests" / "data" / "golden.jsonl").write_text('{"text": "b"}\n')
    elif change == "golden added":
        (source / "tests" / "data" / "more.jsonl").write_text("{}\n")
    elif change == "model weights":
        (model / "model.safetensors").write_bytes(b"weightz")
    elif change == "model file added":
        (model / "tokenizer.json").write_text("{}")
    elif change == "other model":
        other = tmp_path / "other"
        shutil.copytree(model, other)
        model_arg = str(other)
    elif change == "pins":
        (source / "scripts" / "requirements-oracle.txt").write_text("sentence-transformers==6.3.0\n")
    assert make_testdata.shared_inputs(source, model_arg) != before, change


def test_installed_versions_are_part_of_the_digest(make_testdata, tree, monkeypatch):
    source, model = tree
    before = make_testdata.shared_inputs(source, str(model))
    real = make_testdata.importlib.metadata.version
    monkeypatch.setattr(make_testdata.importlib.metadata, "version",
                        lambda name: "0.0.1" if name == "tokenizers" else real(name))
    assert make_testdata.shared_inputs(source, str(model)) != before


@pytest.mark.parametrize("variable, value", [("ATEN_CPU_CAPABILITY", "avx2"), ("ATEN_CPU_CAPABILITY", "default"),
                                             ("DNNL_MAX_CPU_ISA", "SSE41"), ("MKL_ENABLE_INSTRUCTIONS", "AVX2"),
                                             ("OMP_NUM_THREADS", "7")])
def test_kernel_selection_is_part_of_the_digest(make_testdata, tree, monkeypatch, variable, value):
    """Expected values made with other CPU kernels differ in the last bits: outputs made under
    ATEN_CPU_CAPABILITY=default are stale under avx2, and so on."""
    source, model = tree
    monkeypatch.delenv(variable, raising=False)
    before = make_testdata.shared_inputs(source, str(model))
    monkeypatch.setenv(variable, value)
    assert make_testdata.shared_inputs(source, str(model)) != before


def test_kernel_selection_names_this_cpu(make_testdata):
    text = make_testdata.kernel_selection()
    if pathlib.Path("/proc/cpuinfo").exists():
        assert "model name: " in text and "flags: " in text and " sse2 " in text + " ", text[:200]
    assert "ATEN_CPU_CAPABILITY=" in text


def test_oracle_digest_follows_its_outside_files(make_testdata, tmp_path):
    docs = tmp_path / "docs"
    (docs / "library").mkdir(parents=True)
    (docs / "library" / "os.txt").write_text("one\n")
    inputs = [("docs", docs, "**/*.txt")]
    before = make_testdata.oracle_digest(b"shared", b"script", inputs)
    assert before == make_testdata.oracle_digest(b"shared", b"script", inputs)
    (docs / "library" / "os.txt").write_text("two\n")
    edited = make_testdata.oracle_digest(b"shared", b"script", inputs)
    assert edited != before
    (docs / "new.txt").write_text("x\n")
    assert make_testdata.oracle_digest(b"shared", b"script", inputs) != edited
    (docs / "ignored.rst").write_text("not matched\n")
    assert make_testdata.oracle_digest(b"shared", b"script", inputs) == \
        make_testdata.oracle_digest(b"shared", b"script", inputs)


def test_a_copy_is_stale_when_its_source_is(make_testdata):
    digests = {"models": ("m.py", "a"), "gist": ("g.py", "b"), "io": ("i.py", "c")}
    before = make_testdata.with_dependencies(digests)
    after = make_testdata.with_dependencies(dict(digests, models=("m.py", "changed")))
    assert after["gist"] != before["gist"], "gist copies the models: it must re-run when they do"
    assert before["gist"] != ("g.py", "b"), "gist's digest must include the models'"
    assert after["io"] == before["io"] == ("i.py", "c"), "io copies nothing: only its own digest counts"


def test_family_tokenizers_train_the_same_in_every_process(testdata):
    """oracle_models and oracle_tokenizer_families train each family's tokenizer in their own process.
    tokenizers' WordPiece trainer used to number the "##" alphabet in a HashMap's random order, so
    each run gave another vocabulary (and another MPNet test model); they must now be the same."""
    pairs = {"mpnet": "mpnet", "xlm_roberta": "xlmr", "roberta": "roberta"}
    for model, variant in pairs.items():
        paths = [testdata / "models" / model / "tokenizer.json",
                 testdata / "tokenizer_families" / "variants" / variant / "tokenizer.json"]
        for path in paths:
            if not path.exists():
                pytest.fail(f"{path} missing: make_testdata did not run")
        a, b = (json.loads(path.read_text(encoding="utf-8"))["model"] for path in paths)
        assert a == b, f"{model}: the two oracles trained different tokenizers"
