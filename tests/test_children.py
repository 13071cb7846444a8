"""A process the package starts of its own runs the package its parent runs, wherever it is
started and whatever copies of the package lie about (``samverkan_rules/children.py``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from samverkan_rules import children
from tests.support import package_copy


def test_a_child_imports_this_package_from_a_directory_with_another_copy(tmp_path: Path) -> None:
    elsewhere = package_copy(tmp_path / "elsewhere")
    env = children.environment({**os.environ, "PYTHONPATH": str(package_copy(tmp_path / "listed"))})
    interpreter = children.command("samverkan_rules")[:-2]  # the executable, -P
    done = subprocess.run(
        [*interpreter, "-c", "import samverkan_rules; print(samverkan_rules.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).resolve() == children.PACKAGE / "__init__.py"


def test_the_path_is_left_alone_when_this_package_comes_first() -> None:
    first = os.pathsep.join([str(children.PACKAGE.parent), "/elsewhere"])
    assert children.environment({"PYTHONPATH": first})["PYTHONPATH"] == first


def test_this_package_goes_before_another_copy_on_the_path(tmp_path: Path) -> None:
    other = str(package_copy(tmp_path))
    paths = children.environment({"PYTHONPATH": other})["PYTHONPATH"].split(os.pathsep)
    assert paths == [str(children.PACKAGE.parent), other]


def test_the_rest_of_the_environment_is_passed_on() -> None:
    env = children.environment({"SAMVERKAN_SOMETHING": "kept"})
    assert env["SAMVERKAN_SOMETHING"] == "kept"
