"""The deployment files name only things that exist: settings, modules, routes, services, files.

compose.yaml, the Dockerfile and the files under deploy/ are checked against the code: every
``RT_*`` variable is a setting the service (or a carrier) reads, every command runs a real
module, the health checks answer on the port the process really listens on, Prometheus
scrapes the ports the services open, Grafana loads the dashboard that is mounted, and the
README's table lists the services there are. ``docker compose config`` validates the file
when the docker client and its compose plugin are installed (CI has no docker: skipped).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML, installed with the dev extras
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

import adapters.registry  # noqa: F401  (imports every carrier, and so its settings class)

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (ROOT / "deploy" / "compose.env.example").read_text()
PROMETHEUS_TEXT = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
PROMETHEUS: dict[str, Any] = yaml.safe_load(PROMETHEUS_TEXT)
GRAFANA = ROOT / "deploy" / "grafana"
IMAGE = "resolution-tracker:local"
SECRETS = ("POSTGRES_PASSWORD", "RT_SECRET_KEY", "GRAFANA_ADMIN_PASSWORD")
VARIABLE = re.compile(r"\b(?:RT_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b")
IN_CI = os.environ.get("CI", "").lower() == "true"


def settings_class() -> type[BaseSettings]:
    """The service's settings class, where it lives now or after the move to app/core."""
    for module in ("app.core.settings", "app.config"):
        try:
            found: type[BaseSettings] = importlib.import_module(module).Settings
        except ModuleNotFoundError:
            continue
        return found
    raise AssertionError("no Settings class in app.core.settings or app.config")


def variables_of(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        else:
            names.add((alias if isinstance(alias, str) else prefix + name).upper())
    return names


def all_subclasses(cls: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def known_variables() -> set[str]:
    """What the service reads: its settings, and each carrier's RT_<CARRIER>_* settings."""
    known = variables_of(settings_class())
    for cls in all_subclasses(BaseSettings):
        if cls.__module__.startswith("adapters."):
            known |= variables_of(cls)
    return known


def app_services() -> dict[str, Any]:
    return {name: s for name, s in SERVICES.items() if s.get("image") == IMAGE}


def environment(service: str) -> dict[str, Any]:
    env: dict[str, Any] = SERVICES[service].get("environment", {})
    return env


def dockerfile_default(variable: str) -> str:
    found = re.search(rf"\b{variable}=(\S+)", DOCKERFILE)
    assert found, f"the Dockerfile sets no {variable}"
    return found.group(1)


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("compose.yaml", COMPOSE_TEXT),
        ("Dockerfile", DOCKERFILE),
        ("deploy/compose.env.example", ENV_EXAMPLE),
        ("deploy/prometheus/prometheus.yml", PROMETHEUS_TEXT),
    ],
)
def test_every_variable_named_is_a_real_setting(name: str, text: str) -> None:
    named = set(VARIABLE.findall(text))
    assert named, f"{name} names no setting at all: is the pattern right?"
    assert named - known_variables() == set(), f"{name} names settings nothing reads"


def test_compose_sets_the_values_operations_asks_for() -> None:
    api, scheduler = environment("api"), environment("scheduler")
    for env in (api, scheduler, environment("migrate")):
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["RT_AUTO_MIGRATE"] == "false"  # the migrate service does it, once
        assert env["RT_LOG_FORMAT"] == "json"
    assert api["RT_SCHEDULER"] == "off"
    assert scheduler.get("RT_SCHEDULER_METRICS_PORT")
    assert scheduler["RT_SCHEDULER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container
    # one value of the secret key for every process
    assert len({env["RT_SECRET_KEY"] for env in (api, scheduler, environment("migrate"))}) == 1


def test_no_secret_is_written_down() -> None:
    # compose takes them from .env or the shell, and stops when one is missing
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", key):
                passed_on = value is None or re.fullmatch(r"\$\{\w+:\?[^}]+\}", value)
                assert passed_on, f"{name}: {key} is written down in compose.yaml"
    assert "${POSTGRES_PASSWORD:?" in environment("api")["DATABASE_URL"]
    for variable in SECRETS:
        example = re.search(rf"^{variable}=(.*)$", ENV_EXAMPLE, re.M)
        assert example is not None, f"deploy/compose.env.example does not mention {variable}"
        assert example.group(1) == "", f"deploy/compose.env.example gives {variable} a value"
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {".git", ".venv", "data", ".env", "bench/results.json"} <= ignored
    assert {"**/__pycache__", "**/.pytest_cache", "**/.mypy_cache", "**/.hypothesis"} <= ignored


# --- services, commands and health checks ---------------------------------------------------


def test_the_readme_lists_the_services_there_are() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run with Docker Compose", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.M))
    assert listed == set(SERVICES)
    assert {"postgres", "migrate", "api", "scheduler", "prometheus", "grafana"} <= listed


def test_api_and_scheduler_wait_for_the_migration() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in ("api", "scheduler"):
        condition = SERVICES[service]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def python_commands() -> list[tuple[str, list[str]]]:
    """Every ``python -m module args`` our image runs: compose commands and the Dockerfile's."""
    found = [(name, list(s["command"])) for name, s in app_services().items()]
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]$', DOCKERFILE, re.M)
    assert cmd, "the Dockerfile has no CMD"
    found += [("Dockerfile", part.split()) for part in re.split(r" && |exec ", cmd.group(1))]
    return [(where, argv) for where, argv in found if argv and argv[0] == "python"]


@pytest.mark.parametrize(("where", "argv"), python_commands(), ids=lambda x: str(x))
def test_commands_run_real_modules(where: str, argv: list[str]) -> None:
    assert argv[1] == "-m", f"{where}: {argv}"
    module, arguments = argv[2], argv[3:]
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{where}: no module {module}"
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{where}: {module}"
    if arguments:  # the CLI knows the subcommand (asked for its help, nothing runs)
        asked = subprocess.run(  # noqa: S603 - our interpreter and our module
            [sys.executable, "-m", module, *arguments, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert asked.returncode == 0, f"{where}: {argv}: {asked.stderr}"


class _Answer(BaseHTTPRequestHandler):
    path_to_answer = "/"

    def do_GET(self) -> None:
        self.send_response(200 if self.path == self.path_to_answer else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def listening(path: str) -> Iterator[int]:
    """A server on 127.0.0.1 answering 200 on ``path`` only; yields its port."""
    handler = type("Handler", (_Answer,), {"path_to_answer": path})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run_check(argv: list[str], **env: str) -> int:
    return subprocess.run(  # noqa: S603 - the health check command under test
        argv, env={**os.environ, **env}, capture_output=True, timeout=30, check=False
    ).returncode


def test_the_image_health_check_asks_the_api_on_rt_port() -> None:
    found = re.search(r"^HEALTHCHECK .*\\\n\s+CMD (.*)$", DOCKERFILE, re.M)
    assert found, "the Dockerfile has no HEALTHCHECK"
    check = found.group(1)
    assert "/healthz" in check

    from app.main import create_app

    settings: Any = settings_class()(database_url="sqlite://")
    assert "/healthz" in create_app(settings).openapi()["paths"]

    with listening("/healthz") as port:
        assert run_check(["sh", "-c", check], RT_PORT=str(port)) == 0
    assert run_check(["sh", "-c", check], RT_PORT=str(closed_port())) != 0


def test_the_scheduler_health_check_asks_its_metrics_port() -> None:
    check = SERVICES["scheduler"]["healthcheck"]["test"]
    assert check[0] == "CMD"
    assert "RT_SCHEDULER_METRICS_PORT" in " ".join(check)
    with listening("/metrics") as port:
        assert run_check(check[1:], RT_SCHEDULER_METRICS_PORT=str(port)) == 0
    assert run_check(check[1:], RT_SCHEDULER_METRICS_PORT=str(closed_port())) != 0
    assert SERVICES["migrate"]["healthcheck"] == {"disable": True}  # a one-off job, no API


def test_only_127_0_0_1_is_published() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


# --- Prometheus and Grafana -----------------------------------------------------------------


def mounts(service: str) -> dict[str, Path]:
    """Bind mounts of a service: where in the container -> the file here (which must exist)."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{service} mounts {source}, which is not here"
            found[target] = ROOT / source
    return found


def test_prometheus_scrapes_the_ports_the_services_open() -> None:
    targets = {
        job["job_name"]: target
        for job in PROMETHEUS["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    api_port = environment("api").get("RT_PORT") or dockerfile_default("RT_PORT")
    scheduler_port = environment("scheduler")["RT_SCHEDULER_METRICS_PORT"]
    assert targets == {
        "resolution-tracker-api": f"api:{api_port}",
        "resolution-tracker-scheduler": f"scheduler:{scheduler_port}",
    }


def test_job_ticks_are_read_by_job_name_and_prometheus_keeps_its_own_job_label() -> None:
    """A metric label `job` clashes with the scrape job's: Prometheus renames ours to
    exported_job (or, with honor_labels, loses which target a series came from)."""
    assert not any(job.get("honor_labels") for job in PROMETHEUS["scrape_configs"])
    rules = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    dashboard = (GRAFANA / "resolution-tracker.json").read_text()
    selects_job = re.compile(r"\bjob\s*(?:=~|!=|!~|=)|by \([^)]*\bjob\b|\{\{\s*job\s*\}\}")
    assert selects_job.findall(rules) == []
    assert selects_job.findall(dashboard) == []
    assert 'rt_job_ticks_total{job_name="poll", outcome="ok"}' in rules
    assert "sum by (job_name, outcome) (rate(rt_job_ticks_total[5m]))" in dashboard


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found (Debian: apt-get install prometheus) to check the rules")
    checked = subprocess.run(  # noqa: S603 - promtool from PATH
        [promtool, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_loads_the_alert_rules_and_its_config_from_deploy() -> None:
    mounted = mounts("prometheus")
    assert mounted["/etc/prometheus/prometheus.yml"] == ROOT / "deploy/prometheus/prometheus.yml"
    for rule_file in PROMETHEUS["rule_files"]:
        assert mounted[rule_file] == ROOT / "deploy/prometheus/alerts.yml"


def test_grafana_provisions_prometheus_and_the_shipped_dashboard() -> None:
    mounted = mounts("grafana")
    provisioning = mounted["/etc/grafana/provisioning"]
    assert provisioning == GRAFANA / "provisioning"

    [provider] = yaml.safe_load((provisioning / "dashboards/resolution-tracker.yml").read_text())[
        "providers"
    ]
    folder = PurePosixPath(provider["options"]["path"])
    dashboards = {target: source for target, source in mounted.items() if target.endswith(".json")}
    assert dashboards == {
        str(folder / "resolution-tracker.json"): GRAFANA / "resolution-tracker.json"
    }

    [source] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus"  # what the dashboard's datasource variable asks for
    assert source["isDefault"] is True
    assert source["url"] == "http://prometheus:9090"


# --- docker compose itself ------------------------------------------------------------------


def compose_client() -> list[str] | None:
    if shutil.which("docker"):
        plugin = subprocess.run(
            ["docker", "compose", "version"],  # noqa: S607 - docker from PATH
            capture_output=True,
            check=False,
        )
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):  # the standalone binary, if it is Compose v2
        version = subprocess.run(
            ["docker-compose", "version", "--short"],  # noqa: S607 - from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        if version.stdout.strip().startswith("2"):
            return ["docker-compose"]
    return None


def test_docker_compose_accepts_the_file() -> None:
    client = compose_client()
    if client is None:
        if IN_CI:  # CI machines have no docker; the checks above still ran
            pytest.skip("docker compose is not on CI machines: compose.yaml checked without it")
        pytest.skip(
            "docker compose not found: install Docker Engine and its compose plugin "
            "(docs.docker.com/compose/install) to validate compose.yaml"
        )
    secrets = {variable: "not-a-real-secret" for variable in SECRETS}
    checked = subprocess.run(  # noqa: S603 - the compose client found above
        [*client, "--file", str(ROOT / "compose.yaml"), "config", "--quiet"],
        cwd=ROOT,
        env={**os.environ, **secrets},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
