"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here).

The wiring between the services, that every variable they set is one the portal or
localglobus reads (so compose cannot drift from the code silently), and the Ferry
services' commands run here as compose would run them, with loopback and temporary
folders in place of the containers' network and volumes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import free_port, wait_for_http
from tests.test_project import variables_read_by_code

ROOT = Path(__file__).resolve().parent.parent
FERRY_SERVICES = ("localglobus", "migrate", "portal")
# Services from upstream images, whose variables (POSTGRES_*) their images read, not Ferry.
IMAGE_SERVICES = ("postgres", "redis")


class Unset(Exception):
    """`${X:?message}` with X unset: compose refuses to start."""


def interpolate(value: object, env: dict[str, str] | None = None) -> str:
    """Compose's variable syntax as `docker compose config` resolves it in `env`: `${X:-d}`
    is X, or d if X is unset or empty; `${X:?message}` is X, or raises Unset. Without `env`,
    `${X:?...}` gives a stand-in value."""

    def required(match: re.Match) -> str:
        if env is None:
            return "set-in-dotenv"
        if not env.get(match.group(1)):
            raise Unset(match.group(1))
        return env[match.group(1)]

    text = str(value)
    text = re.sub(
        r"\$\{([A-Z0-9_]+):-([^}]*)\}",
        lambda m: (env or {}).get(m.group(1)) or m.group(2),
        text,
    )
    text = re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", required, text)
    assert not re.search(r"(?<!\$)\$(?!\$)", text), f"unresolved variable in {value!r}"
    return text.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict, env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's `environment:` (mapping or list form), interpolated in `env`."""
    variables = service.get("environment") or {}
    if isinstance(variables, list):
        variables = dict(item.split("=", 1) for item in variables)
    return {key: interpolate(value, env) for key, value in variables.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command", [])
    parts = shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]
    return [interpolate(part) for part in parts]


def run_here(service: dict, env: dict[str, str], **kwargs) -> subprocess.Popen:
    """The service's command, run here with `env` and this venv's python and gunicorn,
    with the signal dispositions a container's process starts with (a test run started in
    the background by a shell would otherwise hand its ignored SIGINT down)."""
    env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.Popen(
        command(service), cwd=ROOT, env=env, preexec_fn=default_signals, **kwargs
    )


def default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def test_every_service_has_an_image_or_a_build(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = service["build"] if isinstance(service["build"], str) else "."
            assert (ROOT / context / "Dockerfile").is_file(), name


def test_dependencies_exist_and_health_conditions_have_healthchecks(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {dep: {"condition": "service_started"} for dep in depends_on}
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


def test_migrate_runs_once_before_the_portal_starts(services):
    assert services["migrate"].get("restart") == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    portal_deps = services["portal"]["depends_on"]
    assert portal_deps["migrate"]["condition"] == "service_completed_successfully"
    assert {"redis", "localglobus"} <= set(portal_deps)


def test_portal_listens_on_the_published_port_that_ferry_base_url_names(services):
    cmd = command(services["portal"])
    bind_port = cmd[cmd.index("--bind") + 1].rsplit(":", 1)[1]
    published = {str(port).rsplit(":", 1)[1]: str(port) for port in services["portal"]["ports"]}
    assert bind_port in published
    # With the defaults, the published host port is the one FERRY_BASE_URL names.
    base_url = urlsplit(environment(services["portal"])["FERRY_BASE_URL"])
    assert published[bind_port].split(":")[-2] == str(base_url.port)


@pytest.mark.slow
def test_the_migrate_then_portal_commands_bring_up_a_portal_that_answers(services, tmp_path):
    # SQLite in place of PostgreSQL, no Redis, the portal on a free loopback port.
    port = free_port()
    env = {
        "FERRY_ENV": "development",
        "FERRY_INSTANCE": str(tmp_path / "instance"),
        "FERRY_DATABASE_URL": f"sqlite:///{tmp_path / 'ferry.db'}",
        "FERRY_BASE_URL": f"http://127.0.0.1:{port}",
        "LOCALGLOBUS_HOME": str(tmp_path / "lg"),
    }
    migrate = run_here(services["migrate"], env, stdout=subprocess.PIPE, text=True)
    out, _ = migrate.communicate(timeout=120)
    assert migrate.returncode == 0, out
    assert "database at revision head" in out

    portal = {**services["portal"], "command": command(services["portal"])}
    cmd = portal["command"]
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[cmd.index("--workers") + 1] = "1"
    log = open(tmp_path / "portal.log", "wb")  # noqa: SIM115
    process = run_here(portal, env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, timeout=60)
    finally:
        stop(process)
        log.close()


def test_localglobus_is_where_its_published_port_says(services):
    service = services["localglobus"]
    env = environment(service)
    assert env["LOCALGLOBUS_HOST"] == "localglobus", "the name the portal and browser use"
    assert any(str(port).endswith(f":{env['LOCALGLOBUS_PORT']}") for port in service["ports"])
    assert "healthcheck" in service


@pytest.mark.slow
def test_localglobus_command_creates_the_demo_serves_and_stops_on_its_stop_signal(
    services, tmp_path
):
    service = services["localglobus"]
    port = free_port()
    home = tmp_path / "lg"
    env = {
        **environment(service),
        "LOCALGLOBUS_HOST": "127.0.0.1",
        "LOCALGLOBUS_PORT": str(port),
        "LOCALGLOBUS_HOME": str(home),
    }
    log = open(tmp_path / "localglobus.log", "wb")  # noqa: SIM115
    process = run_here(service, env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(
            f"http://127.0.0.1:{port}/.well-known/openid-configuration", process, timeout=60
        )
        client = json.loads((home / "portal_client.json").read_text())
        assert env["FERRY_BASE_URL"] + "/auth/callback" in json.dumps(client)
    finally:
        status = stop(process, getattr(signal, service.get("stop_signal", "SIGTERM")))
        log.close()
    assert status == 0, (tmp_path / "localglobus.log").read_text()


def test_localglobus_home_is_a_named_volume_the_portal_reads(compose, services):
    home = environment(services["localglobus"])["LOCALGLOBUS_HOME"]
    mounts = {
        name: {str(v).split(":")[1]: str(v).split(":")[0] for v in services[name]["volumes"]}
        for name in ("localglobus", "portal")
    }
    assert mounts["localglobus"].get(home) in compose["volumes"]
    assert mounts["portal"].get(home) == mounts["localglobus"][home]


def test_ferry_services_agree_on_localglobus(services):
    for variable in ("LOCALGLOBUS_HOST", "LOCALGLOBUS_PORT", "LOCALGLOBUS_HOME"):
        values = {name: environment(services[name]).get(variable) for name in FERRY_SERVICES}
        assert len(set(values.values())) == 1, (variable, values)
    bases = {name: environment(services[name])["FERRY_BASE_URL"] for name in FERRY_SERVICES}
    assert len(set(bases.values())) == 1, bases


def test_portal_database_and_redis_urls_point_at_their_services(services):
    postgres = environment(services["postgres"])
    for name in ("migrate", "portal"):
        env = environment(services[name])
        db = urlsplit(env["FERRY_DATABASE_URL"])
        assert db.scheme == "postgresql+psycopg"
        assert (db.hostname, db.username, db.password, db.path.lstrip("/")) == (
            "postgres",
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        assert urlsplit(env["FERRY_REDIS_URL"]).hostname == "redis"


def test_compose_refuses_to_start_the_portal_without_its_secrets(services):
    secrets = {"FERRY_SECRET_KEY": "a-secret-key", "FERRY_TOKEN_KEYS": "a-token-key"}
    for name in ("migrate", "portal"):
        resolved = environment(services[name], secrets)
        assert {key: resolved[key] for key in secrets} == secrets, name
        for missing in secrets:
            with pytest.raises(Unset, match=missing):
                environment(services[name], {k: v for k, v in secrets.items() if k != missing})


def test_every_variable_compose_sets_is_read_by_the_code(services):
    read = set(variables_read_by_code())
    for name, service in services.items():
        if name in IMAGE_SERVICES:
            continue
        unread = set(environment(service)) - read
        assert not unread, f"{name} sets variables nothing reads: {sorted(unread)}"


def test_every_variable_in_env_example_is_read_by_the_code():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.M))
    assert named, ".env.example names no variable"
    assert not named - set(variables_read_by_code()), sorted(named - set(variables_read_by_code()))


def test_dockerfile_installs_the_code_it_runs():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11")
    copied = {
        args.split()[0] for word, args in instructions if word == "COPY" and len(args.split()) == 2
    }
    for folder in ("app", "localglobus", "templates", "static", "migrations"):
        assert folder in copied, f"the image lacks {folder}/"
        assert (ROOT / folder).is_dir(), f"{folder}/ is missing: the build would fail"
    copied_files = {
        name for word, args in instructions if word == "COPY" for name in args.split()[:-1]
    }
    for file in ("pyproject.toml", "README.md", "alembic.ini"):
        assert file in copied_files, f"the image lacks {file}"
        assert (ROOT / file).is_file(), f"{file} is missing: the build would fail"
    # Editable: the portal finds templates/, static/ and migrations/ beside app/.
    assert any(word == "RUN" and "pip install -e ." in args for word, args in instructions)
    cmd = next(args for word, args in reversed(instructions) if word == "CMD")
    assert "gunicorn" in cmd and "app:create_app()" in cmd
