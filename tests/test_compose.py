"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here).

Structure, wiring between the services, and that every variable they set is one the
portal or localglobus reads, so compose cannot drift from the code silently.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.test_project import variables_read_by_code

ROOT = Path(__file__).resolve().parent.parent
FERRY_SERVICES = ("localglobus", "migrate", "portal")
# Services from upstream images, whose variables (POSTGRES_*) their images read, not Ferry.
IMAGE_SERVICES = ("postgres", "redis")


def interpolate(value: object) -> str:
    """Compose's variable syntax as `docker compose config` resolves it with an empty
    environment: `${X:-default}` gives the default, `${X:?message}` a stand-in value."""
    text = str(value)
    text = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)
    text = re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "set-in-dotenv", text)
    assert not re.search(r"(?<!\$)\$(?!\$)", text), f"unresolved variable in {value!r}"
    return text.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's `environment:` (mapping or list form), interpolated."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(value) for key, value in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


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


def test_compose_has_the_five_services(services):
    assert set(services) == {"postgres", "redis", "localglobus", "migrate", "portal"}


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
    assert command(services["migrate"]) == ["python", "-m", "app.cli", "migrate"]
    assert services["migrate"].get("restart") == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    portal_deps = services["portal"]["depends_on"]
    assert portal_deps["migrate"]["condition"] == "service_completed_successfully"
    assert {"redis", "localglobus"} <= set(portal_deps)


def test_portal_runs_create_app_under_gunicorn_on_the_published_port(services):
    cmd = command(services["portal"])
    assert cmd[0] == "gunicorn" and cmd[-1] == "app:create_app()"
    bind_port = cmd[cmd.index("--bind") + 1].rsplit(":", 1)[1]
    published = {str(port).rsplit(":", 1)[1]: str(port) for port in services["portal"]["ports"]}
    assert bind_port in published
    # With the defaults, the published host port is the one FERRY_BASE_URL names.
    base_url = urlsplit(environment(services["portal"])["FERRY_BASE_URL"])
    assert published[bind_port].split(":")[-2] == str(base_url.port)


def test_localglobus_creates_the_demo_then_serves_on_the_published_port(services):
    service = services["localglobus"]
    script = " ".join(command(service))
    assert "localglobus demo --portal-url" in script
    assert script.index("localglobus demo") < script.index("localglobus serve")
    env = environment(service)
    assert env["LOCALGLOBUS_HOST"] == "localglobus", "the name the portal and browser use"
    assert any(str(port).endswith(f":{env['LOCALGLOBUS_PORT']}") for port in service["ports"])
    assert "healthcheck" in service


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


def test_portal_secrets_are_required_not_defaulted():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for variable in ("FERRY_SECRET_KEY", "FERRY_TOKEN_KEYS"):
        assert re.search(rf"{variable}: \$\{{{variable}:\?", text), variable


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


def test_the_ferry_services_read_dotenv(services):
    for name in ("migrate", "portal"):
        assert services[name].get("env_file") == ".env", name
    assert (ROOT / ".env.example").is_file()


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
