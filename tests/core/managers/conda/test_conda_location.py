"""Finding conda's caches and environments the way conda does (reference/conda.md section 1).

conda is not installable here, so each case states conda's rule from its source
(``Context.pkgs_dirs``, ``SEARCH_PATH``, ``SequenceLoadedParameter.merge``) and checks
cachekit against it on real directories and real config files.
"""

from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from cachekit.core import miniyaml
from cachekit.core.managers.conda import location as conda_location
from cachekit.core.managers.conda.sources import conda_record


def install(prefix: Path, cache: bool = True) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta/history").touch()
    if cache:
        (prefix / "pkgs").mkdir()
        (prefix / "pkgs/urls.txt").touch()
    return prefix


def locate(home: Path, system: Path = None, **environ: str) -> conda_location.CondaLocation:
    env = {"HOME": str(home), **environ}
    return conda_location.locate(env, system_dirs=(str(system),) if system else ())


def paths(loc: conda_location.CondaLocation) -> List[str]:
    return [c.path for c in loc.caches]


def test_defaults_are_root_pkgs_then_home_conda_pkgs(home: Path) -> None:
    root = install(home / "miniforge3")
    loc = locate(home)
    assert loc.roots == [(str(root), "usual install location")]
    assert paths(loc) == [str(root / "pkgs"), str(home / ".conda/pkgs")]
    assert loc.caches[0].source.startswith(f"default: root prefix {root}")
    assert loc.caches[0].writable and not loc.caches[1].exists


def test_conda_pkgs_dirs_is_comma_separated_and_replaces_the_defaults(home: Path) -> None:
    install(home / "miniconda3")
    loc = locate(home, CONDA_PKGS_DIRS=" /data/a , ~/b,,$HOME/c ")
    assert paths(loc)[:3] == ["/data/a", str(home / "b"), str(home / "c")]
    assert {c.source for c in loc.caches[:3]} == {"CONDA_PKGS_DIRS"}
    # the installation's own cache is still reported, as found beside conda's list
    assert loc.caches[3].path == str(home / "miniconda3/pkgs")
    assert not loc.caches[3].configured


def test_roots_from_the_environment(home: Path, tmp_path: Path) -> None:
    a = install(tmp_path / "a")
    b = install(tmp_path / "b")
    c = install(tmp_path / "c")
    (c / "envs/work/conda-meta").mkdir(parents=True)
    loc = locate(home, CONDA_EXE=str(a / "bin/conda"), MAMBA_ROOT_PREFIX=str(b),
                 CONDA_PREFIX=str(c / "envs/work"))
    assert [r for r, _ in loc.roots] == [str(a), str(b), str(c)]
    assert paths(loc)[0] == str(a / "pkgs")  # the first root is the one conda would use


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_files_are_read_in_conda_order_and_merged(home: Path, tmp_path: Path) -> None:
    root = install(tmp_path / "root")
    system = tmp_path / "etc-conda"
    write(system / ".condarc", "pkgs_dirs: [/s1]\n")
    write(system / "condarc.d/b.yml", "pkgs_dirs: [/s3]\n")
    write(system / "condarc.d/a.yaml", "pkgs_dirs: [/s2]\n")
    write(system / "condarc.d/ignored.txt", "pkgs_dirs: [/nope]\n")
    write(root / ".condarc", "pkgs_dirs:\n  - /r1\n")
    write(home / ".config/conda/condarc", "pkgs_dirs: [/x1]\n")
    write(home / ".condarc", "pkgs_dirs:\n- /u1\n- /s1\n")
    condarc = write(tmp_path / "explicit.yml", "pkgs_dirs: ['/c1']\n")
    loc = locate(home, system, CONDA_ROOT=str(root), CONDA_ROOT_PREFIX=str(root),
                 CONDARC=str(condarc), CONDA_PKGS_DIRS="/e1")
    assert loc.config_files == [str(system / ".condarc"), str(system / "condarc.d/a.yaml"),
                                str(system / "condarc.d/b.yml"), str(root / ".condarc"),
                                str(home / ".config/conda/condarc"), str(home / ".condarc"),
                                str(condarc)]
    # later sources first; each item once, where its latest source put it
    assert paths(loc) == ["/e1", "/c1", "/u1", "/s1", "/x1", "/r1", "/s3", "/s2",
                          str(root / "pkgs")]  # the last: found beside conda's list
    assert [c.configured for c in loc.caches].count(True) == 8
    assert loc.caches[2].source == f"pkgs_dirs in {home / '.condarc'}"


def test_final_top_and_bottom_flags(home: Path, tmp_path: Path) -> None:
    system = tmp_path / "etc-conda"
    write(system / ".condarc", "pkgs_dirs:\n  - /s1  #!bottom\n  - /s2\n")
    write(home / ".condarc", "pkgs_dirs:\n  - /u1\n  - /u2  #!top\n")
    loc = locate(home, system)
    assert paths(loc) == ["/u2", "/u1", "/s2", "/s1"]
    write(system / ".condarc", "pkgs_dirs: #!final\n  - /s1\n")
    loc = locate(home, system, CONDA_PKGS_DIRS="/e1")
    assert paths(loc) == ["/s1"]  # nothing after a #!final key contributes


def test_writable_means_urls_txt_exists_and_can_be_appended(home: Path, tmp_path: Path) -> None:
    with_magic, without = tmp_path / "w", tmp_path / "r"
    with_magic.mkdir()
    without.mkdir()
    (with_magic / "urls.txt").touch()
    loc = locate(home, CONDA_PKGS_DIRS=f"{with_magic},{without}")
    assert [c.writable for c in loc.caches] == [True, False]
    assert [c.exists for c in loc.caches] == [True, True]


def test_environments_from_every_source(home: Path, tmp_path: Path) -> None:
    root = install(tmp_path / "root")

    def env(path: Path) -> Path:
        (path / "conda-meta").mkdir(parents=True)
        return path

    in_root = env(root / "envs/a")
    registered = env(tmp_path / "elsewhere/b")
    write(home / ".conda/environments.txt", f"{registered}\n{tmp_path / 'gone'}\n")
    configured = env(tmp_path / "envs-dir/c")
    write(home / ".condarc", f"envs_dirs: [{tmp_path / 'envs-dir'}]\n")
    by_var = env(tmp_path / "var-envs/d")
    in_home = env(home / ".conda/envs/e")
    (root / "envs/not-an-env").mkdir()
    loc = locate(home, CONDA_ROOT_PREFIX=str(root), CONDA_ENVS_DIRS=str(tmp_path / "var-envs"))
    found: Dict[str, str] = {e.path: e.source for e in loc.envs}
    assert set(found) == {str(p) for p in (root, in_root, registered, configured, by_var,
                                            in_home)}
    assert found[str(registered)] == str(home / ".conda/environments.txt")
    assert found[str(configured)].startswith(f"envs_dirs in {home / '.condarc'}")


def test_bad_config_is_one_line_naming_the_file(home: Path, tmp_path: Path) -> None:
    bad = write(home / ".condarc", "pkgs_dirs: [/a, /b\nchannels:\n  - x\n")
    loc = locate(home, CONDA_PKGS_DIRS="/ok")
    assert len(loc.errors) == 1 and loc.errors[0].startswith(f"{bad}: not valid YAML: line 1")
    assert paths(loc) == ["/ok"]  # the rest is still found
    write(home / ".condarc", "pkgs_dirs: /just/a/string\n")
    loc = locate(home)
    assert loc.errors == [f"{bad}: pkgs_dirs must be a list of paths, found str "
                          "'/just/a/string'"]
    bad.unlink()
    afile = write(tmp_path / "afile", "x")
    loc = locate(home, CONDA_PKGS_DIRS=f"{afile},/ok")
    assert loc.errors == [f"CONDA_PKGS_DIRS: {afile} is not a directory"]


CONDARCS = [
    "",
    "# only a comment\n",
    "channels:\n  - conda-forge\n  - defaults\nchannel_priority: strict\n",
    "pkgs_dirs:\n- /data/pkgs\n- ~/.conda/pkgs\nenvs_dirs: [/a, '/b c', \"/d\\te\"]\n",
    "auto_activate_base: false\nssl_verify: true\nremote_max_retries: 3\nx: 1.5\nn: null\n",
    "proxy_servers:\n  http: http://proxy:8080\n  https: 'https://proxy:8443'\n",
    "custom_channels:\n  internal: https://conda.internal/\nlist:\n  - a: 1\n    b: [x, {k: v}]\n",
    "---\npkgs_dirs: #!final\n  - /p  #!top\n  - '#not a comment'\n",
    "default_channels: [\n  main,\n  r\n]\n",
]


@pytest.mark.parametrize("text", CONDARCS)
def test_miniyaml_reads_condarc_files_as_pyyaml_does(text: str) -> None:
    assert miniyaml.loads(text) == (yaml.safe_load(text) or {})


@pytest.mark.parametrize("text", [
    "pkgs_dirs: [a, b\n", "a: b\n  c: d\n", "a:\n\t- b\n", "x: \"abc\n", "- a\nb: c\n",
    "a: 'x' y\n", "a: [1, 2]]\n",
])
def test_miniyaml_rejects_what_pyyaml_rejects(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    with pytest.raises(miniyaml.YamlError):
        miniyaml.loads(text)


def test_a_bom_and_an_empty_final_list(home: Path, tmp_path: Path) -> None:
    system = tmp_path / "etc-conda"
    (home / ".condarc").write_bytes("\ufeffpkgs_dirs: [/u1]\n".encode("utf-8"))
    assert paths(locate(home)) == ["/u1"]
    write(system / ".condarc", "pkgs_dirs: #!final\n")
    loc = locate(home, system)
    assert [c.path for c in loc.caches if c.configured] == [] and not loc.errors


def test_a_missing_envs_dir_is_not_an_error(home: Path, tmp_path: Path) -> None:
    afile = write(tmp_path / "envs-file", "x")
    write(home / ".condarc", f"envs_dirs: [{afile}/sub, {tmp_path}/nowhere]\n")
    assert locate(home).errors == []


def test_conda_root_alone_is_a_config_directory_not_the_root(home: Path, tmp_path: Path) -> None:
    root = install(tmp_path / "looks-like-a-root")
    write(root / ".condarc", "envs_dirs: [/r-envs]\npkgs_dirs: [/r1]\n")
    loc = locate(home, CONDA_ROOT=str(root))
    assert loc.roots == []  # conda's root is root_prefix or where conda is installed
    assert loc.config_files == [str(root / ".condarc")]  # still on conda's search path
    assert paths(loc) == ["/r1"] and loc.caches[0].source == f"pkgs_dirs in {root / '.condarc'}"
    assert str(root) not in [e.path for e in loc.envs]


def test_root_prefix_from_the_condarc_and_conda_root_prefix(home: Path, tmp_path: Path) -> None:
    installed = install(tmp_path / "installed")  # where CONDA_EXE points
    chosen = install(tmp_path / "chosen")
    # CONDA_ROOT defaults to the install prefix: its .condarc is read, and sets root_prefix
    write(installed / ".condarc", f"root_prefix: {chosen}\n")
    loc = locate(home, CONDA_EXE=str(installed / "bin/conda"))
    assert loc.roots == [(str(chosen), f"root_prefix in {installed / '.condarc'}"),
                         (str(installed), "CONDA_EXE")]
    assert paths(loc)[:2] == [str(chosen / "pkgs"), str(home / ".conda/pkgs")]
    assert str(chosen) in [e.path for e in loc.envs]
    record = conda_record({"HOME": str(home), "CONDA_EXE": str(installed / "bin/conda")})
    [default] = [s for s in record["sources"] if s["setting"] == "default"]
    assert default["where"].endswith(f"(ROOT found by root_prefix in {installed / '.condarc'})")

    by_var = install(tmp_path / "by-var")  # the environment variable comes after the files
    loc = locate(home, CONDA_EXE=str(installed / "bin/conda"), CONDA_ROOT_PREFIX=str(by_var))
    assert loc.roots[0] == (str(by_var), "CONDA_ROOT_PREFIX")
    assert paths(loc)[0] == str(by_var / "pkgs")
    write(home / ".condarc", f"root_dir: {chosen}\n")  # conda's alias, in a later file
    loc = locate(home, CONDA_EXE=str(installed / "bin/conda"))
    assert loc.roots[0] == (str(chosen), f"root_dir in {home / '.condarc'}")
