"""`openwit config check`, --help and --version, as a user runs them."""
from pathlib import Path

from conftest import ROOT, run_cli

SEED_EXAMPLE = ROOT / "tests" / "data" / "seed_grpc_example.yaml"


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_help_and_version():
    r = run_cli("--help")
    assert r.returncode == 0
    assert "openwit config check FILE" in r.stdout and "janitor" in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("openwit ")


def test_accepts_the_seed_grpc_example_unchanged():
    r = run_cli("config", "check", str(SEED_EXAMPLE))
    assert r.returncode == 0, r.stderr
    # The effective configuration carries the example's values and every default beside them.
    assert "port: 50051" in r.stdout
    assert "max_message_size: 208715200" in r.stdout
    assert "sync_on_write: true" in r.stdout
    assert "OK" in r.stderr


def test_misspelt_key_is_rejected_with_path_line_and_suggestion(tmp_path):
    r = run_cli("config", "check", write(tmp_path, "processing:\n  dedup_windw_seconds: 60\n"))
    assert r.returncode == 1
    assert "line 2: processing.dedup_windw_seconds: unknown key; did you mean 'processing.dedup_window_seconds'?" in r.stderr
    assert r.stdout == ""


def test_string_where_a_number_belongs_is_rejected(tmp_path):
    r = run_cli("config", "check", write(tmp_path, "http:\n  port: eighty\n"))
    assert r.returncode == 1
    assert 'line 2: http.port: expected an integer, got "eighty"' in r.stderr


def test_negative_batch_size_is_rejected(tmp_path):
    r = run_cli("config", "check", write(tmp_path, "ingestion:\n  batching:\n    batch_size: -1000\n"))
    assert r.returncode == 1
    assert "line 3: ingestion.batching.batch_size: -1000 is out of range" in r.stderr


def test_tls_off_in_production_warns_loudly_but_passes(tmp_path):
    r = run_cli("config", "check", write(tmp_path, "environment: production\n"))
    assert r.returncode == 0
    assert "WARNING" in r.stderr and "grpc.tls.enabled" in r.stderr


def test_env_substitution_in_check(tmp_path):
    import os
    env = dict(os.environ, OW_TEST_PORT="4999")
    r = run_cli("config", "check", write(tmp_path, "grpc:\n  port: ${OW_TEST_PORT}\n  bind: ${OW_UNSET_BIND:-127.0.0.9}\n"), env=env)
    assert r.returncode == 0, r.stderr
    assert "port: 4999" in r.stdout and '"127.0.0.9"' in r.stdout


def test_missing_file_and_usage_errors(tmp_path):
    r = run_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1 and "cannot read config file" in r.stderr
    assert run_cli("config").returncode == 2
    r = run_cli("frobnicate")
    assert r.returncode == 2 and 'unknown role "frobnicate"' in r.stderr
    assert run_cli("--bogus").returncode == 2


def test_shipped_configs_pass_check():
    for path in [ROOT / "config" / "openwit.yaml", *sorted((ROOT / "config" / "cluster").glob("*.yaml"))]:
        r = run_cli("config", "check", str(path), env={"PATH": "/usr/bin:/bin", "OPENWIT_PG_PASSWORD": "x"})
        assert r.returncode == 0, f"{path}: {r.stderr}"
