"""dbt is never handed a seed folder outside the project: it writes a seed's run SQL to
target/run/<seed path>, which for an absolute path is the seed file itself."""

from __future__ import annotations

import dataclasses

from deltran import config
from deltran.warehouse import dbt


def test_the_project_registry_is_passed_as_the_relative_folder():
    assert dbt._seed_dir(config.load()) == "seeds"


def test_another_registry_folder_is_copied_and_the_original_is_never_handed_to_dbt(tmp_path, monkeypatch):
    monkeypatch.setenv("DELTRAN_HOME", str(tmp_path / "home"))
    folder = tmp_path / "registry"
    folder.mkdir()
    original = "account_id,servicing_bank_bic,currency,opened_on,closed_on,owner\nX1,TESTGB2LXXX,USD,2020-01-01,,t\n"
    (folder / "account_registry.csv").write_text(original)
    settings = dataclasses.replace(config.load(), registry_dir=folder)
    seed_dir = dbt._seed_dir(settings)
    assert seed_dir != str(folder) and seed_dir.startswith(str(settings.var))
    assert (tmp_path / "home" / "var" / "dbt" / "registry" / "account_registry.csv").read_text() == original
