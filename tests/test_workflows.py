"""The GitHub Actions workflows: they lint clean, are hardened, publish only a tested site, and do
nothing a contributor cannot do locally."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
SETUP = GITHUB / "actions" / "setup" / "action.yml"  # the Python and Node set-up both workflows share
DEPENDABOT = GITHUB / "dependabot.yml"
VENV_BIN = Path(sys.executable).parent  # jactionlint and zizmor are pinned in requirements.txt
SHA_PIN = re.compile(r"(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)")


def load(path):
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def by_name(name):
    return load(GITHUB / "workflows" / name)


def steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    """jactionlint (a maintained fork of actionlint), offline, failing on every finding.

    The run steps are single `make` commands (checked below), so shellcheck has nothing to read.
    """
    command = [str(VENV_BIN / "jactionlint"), "--no-online", "--strict-exit", "--oneline", "--shellcheck="]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True, cwd=ROOT)


def zizmor(*paths: Path, ignores: bool = True) -> tuple[int, list[dict]]:
    """zizmor's findings (its default, regular persona) as JSON, offline: no GitHub API."""
    command = [str(VENV_BIN / "zizmor"), "--offline", "--format=json", *([] if ignores else ["--no-ignores"])]
    result = subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def every_uses() -> list[tuple[Path, int, str]]:
    """(file, line number, line) of every `uses:` in the workflows and the shared action."""
    return [
        (path, number, line)
        for path in [*WORKFLOWS, SETUP]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"\s*(- )?uses:", line)
    ]


def test_both_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]


def test_actionlint_finds_no_problem():
    result = actionlint(*WORKFLOWS, SETUP, DEPENDABOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_catch_problems(tmp_path):
    """A misspelled permission and a misspelled input of a SHA-pinned action are both reported."""
    broken = tmp_path / "broken.yml"
    text = (GITHUB / "workflows" / "deploy.yml").read_text()
    broken.write_text(
        text.replace("contents: read", "contents: reed", 1).replace("retention-days:", "retention-dayz:", 1)
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reed" in result.stdout and "retention-dayz" in result.stdout, result.stdout


def test_zizmor_finds_nothing_and_every_ignore_is_explained():
    """No finding, except those ignored at their line: each at most low, and explained there."""
    code, findings = zizmor(GITHUB)
    assert code == 0 and findings == [], json.dumps(findings, indent=1)[:3000]
    _, everything = zizmor(GITHUB, ignores=False)
    for finding in everything:
        where = next(loc for loc in finding["locations"] if loc["symbolic"]["kind"] == "Primary")
        path = ROOT / where["symbolic"]["key"]["Local"]["verbatim_path"]
        line = path.read_text().splitlines()[where["concrete"]["location"]["start_point"]["row"]]
        assert finding["determinations"]["severity"] in ("Informational", "Low"), (finding["ident"], line)
        explained = re.search(rf"# zizmor: ignore\[{finding['ident']}\]\s+\S.{{10,}}", line)
        assert explained, f"{path.name}: the {finding['ident']} finding is not explained at its line: {line}"


def test_zizmor_does_catch_problems(tmp_path):
    """An action pinned by tag and a checkout that keeps its token are reported, high and medium."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    text = (GITHUB / "workflows" / "pull-request.yml").read_text()
    text = re.sub(r"actions/upload-artifact@[0-9a-f]{40}", "actions/upload-artifact@v7", text)
    broken.write_text(re.sub(r"\n +with:\n +persist-credentials: false.*", "", text))  # the default keeps it
    code, findings = zizmor(broken)
    found = {(f["ident"], f["determinations"]["severity"]) for f in findings}
    assert code != 0 and ("unpinned-uses", "High") in found and ("artipacked", "Medium") in found, found


def test_every_action_is_pinned_to_a_commit_with_its_release_in_a_comment():
    uses = every_uses()
    assert len(uses) >= 8, uses
    pins: dict[str, set] = {}
    for path, number, line in uses:
        target = line.split("uses:", 1)[1].split("  #")[0].strip()
        if target.startswith("./"):
            continue  # this repository's own action, from the checkout
        match = SHA_PIN.fullmatch(line.split("uses:", 1)[1].strip())
        assert match, f"{path.name}:{number}: pin `{target}` as owner/repo@<40-hex SHA> # vX.Y.Z"
        pins.setdefault(match["action"], set()).add((match["sha"], match["version"]))
    assert all(len(v) == 1 for v in pins.values()), f"one release of each action everywhere: {pins}"


def all_jobs():
    return [
        pytest.param(path, name, job, id=f"{path.name}:{name}")
        for path in WORKFLOWS
        for name, job in load(path)["jobs"].items()
    ]


@pytest.mark.parametrize("path, name, job", all_jobs())
def test_every_job_has_a_timeout_and_a_pinned_runner(path, name, job):
    assert isinstance(job.get("timeout-minutes"), int) and 0 < job["timeout-minutes"] <= 120, f"{path.name}: {name}"
    assert job["runs-on"] == "ubuntu-24.04", f"{path.name}: job {name} runs on {job['runs-on']}, not ubuntu-24.04"


def test_every_checkout_leaves_no_token_behind():
    checkouts = [
        s for path in WORKFLOWS for s in steps(load(path)) if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert len(checkouts) == 2
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, step


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_both_workflows_set_up_python_and_node_the_same_way(path):
    """Checkout, then the shared action: the same Python, Node and cache in PRs and deploys."""
    for name, job in load(path)["jobs"].items():
        uses = [s.get("uses", "") for s in job["steps"]]
        if not any(u.startswith("actions/checkout@") for u in uses):
            continue  # the deploy job only publishes the uploaded site
        assert uses[0].startswith("actions/checkout@") and uses[1] == "./.github/actions/setup", f"{path.name}: {name}"
        for step in job["steps"]:
            assert not re.match(r"actions/(setup-python|setup-node|cache)@", step.get("uses", "")), (
                f"{path.name}: {name} sets up {step['uses']} itself; the shared action does it"
            )


def test_the_shared_set_up_pins_python_and_node_and_keys_the_cache_on_the_exact_python():
    action = yaml.safe_load(SETUP.read_text())
    by_action = {s["uses"].split("@")[0]: s for s in action["runs"]["steps"]}
    python = by_action["actions/setup-python"]
    assert python["id"] == "python" and python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"
    node = by_action["actions/setup-node"]
    assert re.fullmatch(r"\d+", node["with"]["node-version"]) and node["with"]["cache"] == "npm"
    cache = by_action["actions/cache"]
    assert cache["with"]["path"] == "_build/.jupyter_cache"
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"].strip()
    exact_python = "${{ steps.python.outputs.python-version }}"
    assert exact_python in key, "the key must hold the exact Python version (setup-python's output)"
    for source in ("'book/**'", "'code/**'", "'tools/**'", "'requirements.txt'", "'_config.yml'"):
        assert source in key, f"the execution cache key must change with {source}"
    assert key.startswith(restore) and exact_python in restore, "partial hits only from the same exact Python"


def test_dependabot_updates_the_actions_and_the_pinned_packages():
    config = yaml.safe_load(DEPENDABOT.read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip", "npm"}
    actions = ecosystems["github-actions"]
    assert "/" in actions["directories"] and any(d.startswith("/.github/actions") for d in actions["directories"])
    for update in config["updates"]:
        assert update["schedule"]["interval"] in ("daily", "weekly", "monthly")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_run_step_is_a_command_from_the_readme(path):
    readme = (ROOT / "README.md").read_text()
    runs = [step["run"].strip() for step in steps(load(path)) if "run" in step]
    assert runs, f"{path.name} runs nothing"
    for command in runs:
        assert re.fullmatch(r"make [a-z-]+", command), f"{path.name}: `{command}` is not one `make` command"
        assert f"`{command}`" in readme or f"\n{command} " in readme, f"{path.name}: `{command}` is not in README.md"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_both_workflows_test_everything_and_upload_the_reports_on_failure(path):
    """The strict build, then the README's test command; on failure, the execution reports and
    pytest's junit XML report are uploaded, and kept only briefly."""
    workflow = load(path)
    runs = [step.get("run") for step in steps(workflow)]
    assert runs.index("make html") < runs.index("make test")
    test_step = next(s for s in steps(workflow) if s.get("run") == "make test")
    report = re.fullmatch(r"--junitxml=(\S+)", test_step["env"]["PYTEST_ADDOPTS"])
    assert report, "pytest writes a junit XML report"
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@"))
    paths = upload["with"]["path"].split()
    assert upload["if"] == "failure()" and "_build/html/reports/" in paths and report.group(1) in paths, upload
    assert 0 < upload["with"]["retention-days"] <= 14, "the reports serve the failure at hand"
    assert workflow["env"]["CHROMIUM_PATH"] == "/usr/bin/google-chrome"


def test_pull_requests_are_tested():
    assert "pull_request" in by_name("pull-request.yml")["on"]


def untested_deploys(workflow: dict) -> list[str]:
    """What would let a site whose tests failed reach readers; [] when nothing would.

    The Pages artifact must be uploaded after `make test`, in the same job, only when every
    step before it succeeded, and the deploy job must need that job."""
    jobs = workflow["jobs"]
    tested = [n for n, j in jobs.items() if any(s.get("run") == "make test" for s in j["steps"])]
    uploads = [
        n
        for n, j in jobs.items()
        if any(s.get("uses", "").startswith("actions/upload-pages-artifact@") for s in j["steps"])
    ]
    deploys = [
        n for n, j in jobs.items() if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in j["steps"])
    ]
    if len(tested) != 1 or uploads != tested or len(deploys) != 1:
        return [
            f"one job must run `make test` and upload the site (tested: {tested}, uploads: {uploads}, deploys: {deploys})"
        ]
    problems = []
    build_steps = jobs[tested[0]]["steps"]
    runs = [s.get("run") for s in build_steps]
    (upload,) = [i for i, s in enumerate(build_steps) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    if runs.index("make test") > upload:
        problems.append("the site is uploaded before the tests run")
    if "if" in build_steps[upload]:
        problems.append(f"the upload has its own condition ({build_steps[upload]['if']}): it must run only on success")
    if build_steps[upload]["with"]["path"] != "_build/html":
        problems.append("the uploaded site is not the _build/html the tests read")
    if any(s.get("continue-on-error") for s in build_steps) or jobs[tested[0]].get("continue-on-error"):
        problems.append("a failing step does not stop the job")
    deploy = jobs[deploys[0]]
    needs = deploy.get("needs", [])
    if tested[0] not in ([needs] if isinstance(needs, str) else needs):
        problems.append("the deploy job does not need the tested job")
    if "if" in deploy:
        problems.append(f"the deploy job has its own condition ({deploy['if']})")
    if any(s.get("run") for s in deploy["steps"]):
        problems.append("the deploy job builds something of its own")
    return problems


def test_main_deploys_only_the_site_that_passed_the_tests():
    workflow = by_name("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert untested_deploys(workflow) == []


def edit_deploy(change) -> dict:
    workflow = by_name("deploy.yml")
    change(workflow["jobs"])
    return workflow


def drop_tests(jobs):
    jobs["build"]["steps"] = [s for s in jobs["build"]["steps"] if s.get("run") != "make test"]


def upload_first(jobs):
    steps_ = jobs["build"]["steps"]
    upload = next(s for s in steps_ if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    steps_.remove(upload)
    steps_.insert(2, upload)


@pytest.mark.parametrize(
    "change",
    [
        drop_tests,
        upload_first,
        lambda jobs: next(s for s in jobs["build"]["steps"] if "upload-pages" in s.get("uses", "")).update(
            {"if": "always()"}
        ),
        lambda jobs: jobs["deploy"].pop("needs"),
        lambda jobs: jobs["deploy"].update({"if": "always()"}),
        lambda jobs: next(s for s in jobs["build"]["steps"] if s.get("run") == "make test").update(
            {"continue-on-error": True}
        ),
    ],
    ids=["no tests", "upload before tests", "upload always", "deploy needs nothing", "deploy always", "tests may fail"],
)
def test_a_deploy_that_could_publish_an_untested_site_is_caught(change):
    assert untested_deploys(edit_deploy(change)), "this workflow could publish an untested site"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_concurrency(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["group"]
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in job.get("steps", [])):
            assert granted == {"pages": "write", "id-token": "write"}, name
        else:
            assert not granted, f"job {name} needs no extra permissions"
