"""The lint gate compiles every dbt model: .sqlfluff gives dbt each var the models read."""

from __future__ import annotations

import configparser

from deltran import config


def test_sqlfluff_gives_dbt_every_var_deltran_passes():
    parser = configparser.ConfigParser()
    parser.read(config.PROJECT_ROOT / ".sqlfluff")
    # without one, dbt refuses to compile the models that read it and sqlfluff skips them with a warning only
    assert set(parser["sqlfluff:templater:dbt:context"]) == set(config.load().dbt_vars())
