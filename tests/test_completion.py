"""`aliassync completion SHELL`: the scripts, generated from the real parser, complete in real shells."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aliassync.cli import build_parser, main

SCRIPT = Path(sys.executable).with_name("aliassync")


def script(capsys, shell: str) -> str:
    assert main(["completion", shell]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


BASH_COMPLETE = r'''
source "$1"
shift
function_name=$(complete -p aliassync | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
"$function_name" aliassync "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def bash_complete(path: Path, *words: str, cwd: Path | None = None) -> list[str]:
    """What a real bash offers for the command line `words` (the last one being completed)."""
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_COMPLETE, "bash", str(path), *words],
                          capture_output=True, text=True, cwd=cwd, timeout=30)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_subcommands_options_choices_and_files(capsys, tmp_path):
    path = tmp_path / "aliassync.bash"
    path.write_text(script(capsys, "bash"))
    assert bash_complete(path, "aliassync", "pl") == ["plan"]
    assert sorted(bash_complete(path, "aliassync", "")) == sorted(
        ["validate", "plan", "apply", "drift", "show", "export", "sandbox", "completion"])
    assert bash_complete(path, "aliassync", "apply", "--allow-") == ["--allow-deletes", "--allow-in-use-deletes"]
    assert sorted(bash_complete(path, "aliassync", "plan", "--format", "")) == ["json", "markdown", "text"]
    assert bash_complete(path, "aliassync", "completion", "z") == ["zsh"]
    assert bash_complete(path, "aliassync", "sandbox", "s") == ["serve"]
    (tmp_path / "plan-7.json").write_text("{}")
    assert bash_complete(path, "aliassync", "show", "plan-", cwd=tmp_path) == ["plan-7.json"]
    assert bash_complete(path, "aliassync", "apply", "--result", "plan-", cwd=tmp_path) == ["plan-7.json"]


def test_every_option_of_the_real_parser_is_in_the_bash_script(capsys):
    text = script(capsys, "bash")
    offered = {m[1]: m[2].split() for m in re.finditer(r"^_shtab_aliassync_(\w*?)_?option_strings=\((.*)\)$",
                                                        text, re.MULTILINE)}
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    wanted = {"": [o for a in parser._actions for o in a.option_strings]}
    for name, sub in commands.choices.items():
        wanted[name] = [o for a in sub._actions for o in a.option_strings]
    for name in wanted:
        assert offered[name] == wanted[name], name


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_subcommands_and_options(capsys, tmp_path):
    path = tmp_path / "aliassync.fish"
    path.write_text(script(capsys, "fish"))

    def offered(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return [entry.split("\t")[0] for entry in done.stdout.splitlines()]

    assert "plan" in offered("aliassync pl") and "apply" not in offered("aliassync pl")
    assert "--checksum" in offered("aliassync apply --che")
    assert sorted(offered("aliassync completion ")) == ["bash", "fish", "zsh"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_script_and_defines_its_completion(capsys, tmp_path):
    """Installed as the script says (a `_aliassync` file on $fpath), compinit picks it up for aliassync."""
    (tmp_path / "_aliassync").write_text(script(capsys, "zsh"))
    done = subprocess.run(["zsh", "-f", "-c", f"fpath=({tmp_path} $fpath) && autoload -U compinit && "
                                              f"compinit -u -d {tmp_path}/zcompdump && print -l $_comps[aliassync]"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["_aliassync"]
    assert subprocess.run(["zsh", "-n", str(tmp_path / "_aliassync")]).returncode == 0


def test_an_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "powershell"])
    assert exit_.value.code == 1
    assert "invalid choice: 'powershell'" in capsys.readouterr().err


def test_the_installed_command_prints_it(tmp_path):
    done = subprocess.run([str(SCRIPT), "completion", "bash"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.endswith("\ncomplete -o bashdefault -F _shtab_aliassync aliassync\n")
