"""The container stack (docker-compose.yml, Dockerfile, docker/), checked without Docker.

Everything here reads the files as they are, so a broken mount, a version drift
between the image and requirements.txt or an Airflow 2 leftover fails in the
normal test run. `docker compose config -q` runs too when Docker can answer.
The last two (slow) tests run the init scripts for real on a throwaway
PostgreSQL 16 (pgserver): docker/postgres/ as the postgres image's entrypoint
would, then docker/airflow/init.sh (Airflow's metadata migration as the
airflow role, the warehouse schemas as the deltran role).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import yaml

from deltran import config

ROOT = config.PROJECT_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOG_SERVER_PORT = 8793  # Airflow's default [logging] worker_log_server_port

# Airflow 3's components, by the `airflow` sub-command each service runs.
AIRFLOW3_COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer"}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str] | None = None):
    """Compose's variable substitution, enough for this file: ${VAR}, ${VAR:-d}, ${VAR-d}, $$."""
    env = env or {}
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3) or ""
        current = env.get(name)
        if op == ":-":
            return current if current else default
        if op == "-":
            return current if current is not None else default
        if op in (":?", "?"):
            if not current:
                raise ValueError(f"{name} is required: {default}")
            return current
        if op in (":+", "+"):
            return default if current else ""
        return current or ""

    return _VAR.sub(repl, value)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    """The file as `docker compose up` sees it with no .env: every default applied."""
    return interpolate(raw)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


def airflow_services(services: dict) -> dict:
    """Services built from the project's image (the Airflow ones)."""
    return {name: s for name, s in services.items() if "build" in s}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _mounts(service: dict) -> list[tuple[str, str, str]]:
    """(kind, source, target) of each volume: kind is 'bind' or 'volume'."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            kind, source, target = volume.get("type", "volume"), volume.get("source", ""), volume["target"]
        else:
            source, target = volume.split(":")[:2]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        mounts.append((kind, source, target))
    return mounts


def _bind_target(service: dict, host_path: str) -> str | None:
    wanted = (ROOT / host_path).resolve()
    for kind, source, target in _mounts(service):
        if kind == "bind" and (ROOT / source).resolve() == wanted:
            return target
    return None


def _requirement_pin(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(rf"^\s*{re.escape(name)}(\[[^\]]*\])?\s*==\s*([^\s;#]+)", line, re.IGNORECASE)
        if m:
            return m.group(2)
    raise AssertionError(f"{name} is not pinned with == in requirements.txt")


def _dockerfile_from() -> str:
    froms = [
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.strip().upper().startswith("FROM ")
    ]
    assert froms, "Dockerfile has no FROM"
    return froms[-1]


# --- the file itself -----------------------------------------------------------


def test_compose_file_parses(raw):
    assert isinstance(raw, dict)
    assert isinstance(raw.get("services"), dict) and raw["services"]


def test_every_variable_has_a_default(raw):
    """`docker compose up` works on a fresh clone with no .env: each ${VAR} has a default."""
    text = COMPOSE_FILE.read_text()
    bare = [m.group(0) for m in _VAR.finditer(text) if m.group(0) != "$$" and not m.group(2)]
    assert not bare, f"variables without a default: {bare}"


def test_credentials_are_substitutions_not_literals(raw):
    """Passwords come from ${VAR:-dev default}, overridable without editing the file."""
    for name, service in raw["services"].items():
        for key, value in _environment(service).items():
            if re.search(r"(PASSWORD|SECRET|SECRET_KEY|FERNET_KEY)$", key):
                assert value.startswith("${"), f"{name}: {key} is a literal"
            if "://" in value and "@" in value:  # a URL with credentials
                userinfo = urlsplit(value).netloc.rpartition("@")[0]
                assert re.search(r":\$\{[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}$", userinfo), (
                    f"{name}: {key} has a literal password"
                )


# --- image and build -----------------------------------------------------------


def test_every_build_names_an_existing_dockerfile(services):
    builds = {name: s["build"] for name, s in services.items() if "build" in s}
    assert builds, "no service builds the project's image"
    for name, build in builds.items():
        if isinstance(build, str):
            build = {"context": build}
        context = (ROOT / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert context.is_dir(), f"{name}: build context {context} missing"
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_airflow_services_share_one_image(services):
    images = {(repr(s["build"]), s.get("image")) for s in airflow_services(services).values()}
    assert len(images) == 1, f"the Airflow services build different images: {images}"


def test_dockerfile_airflow_version_is_the_requirements_pin():
    image = _dockerfile_from()
    m = re.fullmatch(r"apache/airflow:(?P<version>[0-9][^-]*)-python(?P<python>[0-9.]+)", image)
    assert m, f"FROM {image}: expected apache/airflow:<version>-python3.11"
    assert m["version"] == _requirement_pin("apache-airflow")
    assert m["python"] == "3.11"


def test_dockerfile_installs_requirements_with_airflow_held_and_the_project():
    text = DOCKERFILE.read_text()
    install = re.search(r"pip install[^\n]*-r\s+\S*requirements\.txt", text)
    assert install, "the Dockerfile does not pip install -r requirements.txt"
    # Airflow's way to extend its image: name apache-airflow==<image version> on the same command.
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install.group(0)
    assert re.search(r"pip install[^\n]*--no-deps[^\n]*-e\s+/opt/deltran", text)


def test_dockerignore_keeps_state_out_and_sources_in():
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".pgdata", ".airflow", "var", ".env"} <= patterns
    for needed in ("deltran", "dags", "plugins", "dbt", "docker", "requirements.txt", "pyproject.toml"):
        assert needed not in patterns, f".dockerignore drops {needed}, which the image needs"


def test_shell_scripts_parse():
    scripts = sorted((ROOT / "docker").rglob("*.sh"))
    assert scripts
    for script in scripts:
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"


# --- mounts and layout ---------------------------------------------------------


def test_every_bind_mounted_host_path_exists(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for kind, source, _target in _mounts(service):
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist in the repo"
            else:
                assert source in declared, f"{name}: named volume {source} not declared"


def test_project_mounted_where_deltran_expects_it(services):
    """dags/, plugins/, dbt/ and var/ sit where deltran.config puts them (next to the package)."""
    homes = set()
    for name, service in airflow_services(services).items():
        env = _environment(service)
        home = env["DELTRAN_HOME"]
        homes.add(home)
        assert _bind_target(service, "dags") == env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{home}/dags", name
        assert _bind_target(service, "plugins") == env["AIRFLOW__CORE__PLUGINS_FOLDER"] == f"{home}/plugins", name
        assert _bind_target(service, "dbt") == f"{home}/dbt", name
        var_mounts = [source for kind, source, target in _mounts(service) if target == f"{home}/var"]
        assert var_mounts, f"{name}: no volume on {home}/var"
    assert len(homes) == 1
    # ... and the image installs the project (editable) at that same root
    assert f"COPY --chown=airflow:0 . {homes.pop()}" in DOCKERFILE.read_text()


def test_airflow_env_matches_deltran_airflow_env(services):
    """The variables deltran/airflow_env.py sets locally are set here too, by the same names."""
    from deltran.airflow_env import airflow_environment

    with mock.patch.dict(os.environ, {}, clear=True):
        local = {k: v for k, v in airflow_environment().items() if k.startswith("AIRFLOW__")}
    assert local, "deltran.airflow_env sets no AIRFLOW__ variables?"
    for name, service in airflow_services(services).items():
        env = _environment(service)
        missing = sorted(set(local) - set(env))
        assert not missing, f"{name} lacks {missing}"
        for key, value in local.items():
            if not key.endswith("_FOLDER"):  # folders differ by root, checked above
                assert env[key] == value, f"{name}: {key}={env[key]!r}, deltran/airflow_env.py says {value!r}"


# --- databases -----------------------------------------------------------------


def test_postgres_is_16_with_healthcheck_and_init_script(services):
    postgres = services["postgres"]
    image = postgres["image"]
    assert re.fullmatch(r"(docker\.io/)?(library/)?postgres:16([.-].*)?", image), image
    assert postgres.get("healthcheck", {}).get("test"), "postgres has no healthcheck"
    initdb = [
        (kind, source) for kind, source, target in _mounts(postgres) if target.startswith("/docker-entrypoint-initdb.d")
    ]
    assert initdb and initdb[0][0] == "bind"
    source = ROOT / initdb[0][1]
    scripts = [source] if source.is_file() else list(source.glob("*.sh")) + list(source.glob("*.sql"))
    assert scripts, f"nothing for the entrypoint to run in {source}"
    assert all(s.resolve().is_relative_to(ROOT / "docker" / "postgres") for s in scripts)


def test_every_airflow_service_has_both_databases(services):
    for name, service in airflow_services(services).items():
        env = _environment(service)
        assert env.get("DATABASE_URL"), f"{name}: no DATABASE_URL"
        assert env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"), f"{name}: no metadata connection"
        warehouse, metadata = urlsplit(env["DATABASE_URL"]), urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert warehouse.scheme in ("postgresql", "postgres")
        assert metadata.scheme.startswith("postgresql")
        assert warehouse.hostname == metadata.hostname == "postgres"
        assert warehouse.path != metadata.path, "warehouse and Airflow metadata share a database"
        assert warehouse.path == "/deltran" and metadata.path == "/airflow"
        # Airflow 3's async engine: same database, a driver requirements.txt pins (psycopg 3)
        metadata_async = urlsplit(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", ""))
        assert metadata_async.scheme == "postgresql+psycopg", f"{name}: no async metadata connection on psycopg 3"
        assert (metadata_async.netloc, metadata_async.path) == (metadata.netloc, metadata.path), name
        _requirement_pin("psycopg")


def test_services_wait_for_postgres_and_init(services):
    for name, service in airflow_services(services).items():
        depends = service.get("depends_on") or {}
        assert depends.get("postgres", {}).get("condition") == "service_healthy", name
        if name != "airflow-init":
            assert depends.get("airflow-init", {}).get("condition") == "service_completed_successfully", name


# --- Airflow 3 -----------------------------------------------------------------


def test_airflow3_components_present(services):
    commands = {name: _command(s) for name, s in airflow_services(services).items()}
    present = {c[0] for c in commands.values() if c}
    assert present >= AIRFLOW3_COMPONENTS, f"missing: {AIRFLOW3_COMPONENTS - present}"
    assert "webserver" not in present, "Airflow 3 has no webserver: it is the api-server"
    assert "airflow-init" in services and "migrate" in (ROOT / "docker/airflow/init.sh").read_text()
    init = services["airflow-init"]
    script = next(part for part in _command(init) if part.endswith(".sh"))
    assert script.startswith("/opt/deltran/") and (ROOT / script.removeprefix("/opt/deltran/")).is_file()


def test_local_executor_and_execution_api(services):
    api = next(name for name, s in airflow_services(services).items() if _command(s)[:1] == ["api-server"])
    api_port = int(_environment(services[api])["AIRFLOW__API__PORT"])
    for name, service in airflow_services(services).items():
        env = _environment(service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        url = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (url.hostname, url.port, url.path) == (api, api_port, "/execution/"), name
        # one token secret for all: the scheduler signs what the API server checks
        assert env.get("AIRFLOW__API_AUTH__JWT_SECRET"), name
    secrets = {_environment(s)["AIRFLOW__API_AUTH__JWT_SECRET"] for s in airflow_services(services).values()}
    assert len(secrets) == 1


def test_api_server_port_is_not_the_log_server_port(services):
    api = next(s for s in airflow_services(services).values() if _command(s)[:1] == ["api-server"])
    env = _environment(api)
    log_port = int(env.get("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", LOG_SERVER_PORT))
    api_port = int(env["AIRFLOW__API__PORT"])
    assert api_port != log_port
    published = [str(p) for p in api.get("ports") or []]
    assert published, "the api-server publishes no port"
    for port in published:
        container = int(port.rsplit(":", 1)[-1].split("/")[0])
        host = port.rsplit(":", 1)[0].rsplit(":", 1)[-1] if ":" in port else str(container)
        assert container == api_port
        assert LOG_SERVER_PORT not in (container, int(host))


# --- with Docker, when there is one ----------------------------------------------


def _first_line(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[0][:200] if lines else f"exit status {result.returncode}"


def _docker_compose_unavailable() -> str | None:
    if not shutil.which("docker"):
        return "no docker client on PATH"
    try:
        compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` failed: {exc}"
    if compose.returncode != 0:
        return f"`docker compose` is not available: {_first_line(compose)}"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker daemon answers: {exc}"
    if info.returncode != 0:
        return f"no Docker daemon answers: {_first_line(info)}"
    return None


def test_docker_compose_config_is_valid():
    reason = _docker_compose_unavailable()
    if reason:
        pytest.skip(reason)
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


# --- the init scripts, run for real on a throwaway PostgreSQL 16 ---------------------


@pytest.fixture(scope="module")
def initialised_postgres(services, tmp_path_factory):
    """A fresh PostgreSQL 16 (pgserver) after docker/postgres/*.sh ran on it, twice (idempotent).

    As the postgres image's entrypoint runs them: psql on the local socket as
    POSTGRES_USER, with the postgres service's environment from the compose file.
    Yields (admin URL, socket folder, the services' environments).
    """
    import pgserver  # a dependency of the project (requirements.txt): missing is a broken install, not a skip
    from psycopg.conninfo import conninfo_to_dict

    env_of = {name: _environment(s) for name, s in services.items()}
    scripts = sorted((ROOT / "docker" / "postgres").glob("*.sh"))
    assert scripts
    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "pgdata", cleanup_mode="stop")
    try:
        admin = server.get_uri()
        parts = conninfo_to_dict(admin)
        bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
        run_env = {
            **env_of["postgres"],
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PGHOST": str(parts["host"]),
            "POSTGRES_USER": str(parts.get("user") or "postgres"),
        }
        if parts.get("port"):
            run_env["PGPORT"] = str(parts["port"])
        for _ in range(2):
            for script in scripts:
                result = subprocess.run(["bash", str(script)], env=run_env, capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stderr
        yield admin, str(parts["host"]), env_of
    finally:
        server.cleanup()  # stops it (the temporary folder goes with the session)
        atexit.unregister(server._cleanup)  # pgserver would log again at exit, to closed streams


@pytest.mark.slow
@pytest.mark.db
def test_postgres_init_script_creates_both_databases(initialised_postgres):
    """Each database exists, owned by the role its URL names; neither role reaches the other's."""
    import psycopg

    admin, _, env_of = initialised_postgres
    warehouse = urlsplit(env_of["airflow-scheduler"]["DATABASE_URL"])
    metadata = urlsplit(env_of["airflow-scheduler"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with psycopg.connect(admin, autocommit=True) as conn:
        owners = dict(
            conn.execute(
                "select d.datname, r.rolname from pg_database d join pg_roles r on r.oid = d.datdba"
            ).fetchall()
        )
        assert owners.get(warehouse.path[1:]) == warehouse.username
        assert owners.get(metadata.path[1:]) == metadata.username
        cross = conn.execute(
            "select has_database_privilege(%s, %s, 'CONNECT'), has_database_privilege(%s, %s, 'CONNECT')",
            (warehouse.username, metadata.path[1:], metadata.username, warehouse.path[1:]),
        ).fetchone()
        assert cross == (False, False), "each role must reach its own database only"
        can_login = conn.execute(
            "select bool_and(rolcanlogin) from pg_roles where rolname in (%s, %s)",
            (warehouse.username, metadata.username),
        ).fetchone()[0]
        assert can_login


@pytest.mark.slow
@pytest.mark.db
def test_airflow_init_script_prepares_everything(initialised_postgres, tmp_path):
    """docker/airflow/init.sh with the airflow-init environment: Airflow's metadata migrated on
    PostgreSQL 16 as the airflow role, the warehouse schemas created as the deltran role, the
    var/ tree and the login written. Only the hosts differ: the local socket instead of `postgres`."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    admin, socket_dir, env_of = initialised_postgres
    init_env = env_of["airflow-init"]

    def on_socket(url: str) -> str:
        parts = urlsplit(url)
        return parts._replace(netloc=f"{parts.username}@", query=f"host={socket_dir}").geturl()

    home, airflow_home = tmp_path / "deltran", tmp_path / "airflow"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DELTRAN", "DATABASE_URL"))},
        **init_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_UID": str(os.getuid()),
        "AIRFLOW_HOME": str(airflow_home),
        "DELTRAN_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "auth" / "passwords.json"),
        "DATABASE_URL": on_socket(init_env["DATABASE_URL"]),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": on_socket(init_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": on_socket(init_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]),
    }
    script = ROOT / "docker" / "airflow" / "init.sh"
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    for folder in ("inbox", "archive", "quarantine", "outbox", "reports", "dbt"):
        assert (home / "var" / folder).is_dir()
    assert json.loads((airflow_home / "auth" / "passwords.json").read_text()) == {
        init_env["_AIRFLOW_WWW_USER_USERNAME"]: init_env["_AIRFLOW_WWW_USER_PASSWORD"]
    }
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        assert {"raw", "control"} <= schemas
    metadata = urlsplit(init_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with psycopg.connect(make_conninfo(admin, dbname=metadata.path[1:])) as conn:
        owner = conn.execute(
            "select tableowner from pg_tables where schemaname = 'public' and tablename = 'alembic_version'"
        ).fetchone()
        assert owner == (metadata.username,), "Airflow's tables belong to the airflow role"

    # the async URL works as given, with the pinned SQLAlchemy and psycopg
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def probe() -> str:
        engine = create_async_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"])
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text("select version_num from alembic_version"))).scalar_one()
        finally:
            await engine.dispose()

    assert asyncio.run(probe())
