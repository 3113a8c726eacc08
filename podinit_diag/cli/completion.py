"""``initdoctor completion bash|zsh|fish``: shell completion scripts, kubectl's convention
(``source <(initdoctor completion bash)``). Flags, formats and subcommands come from the
parser; rule codes and names from the catalogue; target types from kubectl's names; pod,
namespace and context names are asked of ``kubectl`` when the user presses Tab (with a
short request timeout, so that a slow cluster never hangs the shell)."""

from __future__ import annotations

from podinit_diag.cli.args import (
    FAIL_ON,
    KINDS,
    OUTPUTS,
    SHELLS,
    SUBCOMMANDS,
    TEMPLATED,
    build_parser,
)

_FILES = ("--from", "--save", "--kubeconfig", "--serve")
_DIRS = ("--save",)


def _flags() -> list[tuple[str, str, str]]:
    """(long flag, its short flag or "", "1" if it takes a value else "0") of every option."""
    out = []
    for action in build_parser()._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        shorts = [o for o in action.option_strings if not o.startswith("--")]
        for i, flag in enumerate(longs):
            takes = "1" if action.nargs != 0 else "0"
            out.append((flag, shorts[0] if shorts and i == 0 else "", takes))
    return out


def _rules() -> list[str]:
    from podinit_diag.rules import all_rules

    rules = all_rules()
    return [r.code for r in rules] + [r.name for r in rules]


def _types() -> list[str]:
    return [name for _, names, _ in KINDS for name in names]


def script(shell: str) -> str:
    if shell not in SHELLS:
        raise ValueError(shell)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell]()


_OUTPUT_WORDS = " ".join((*OUTPUTS, *(f"{t}=" for t in TEMPLATED)))


def _bash_function() -> str:
    flags = _flags()
    words = " ".join(f for f, s, _ in flags) + " " + " ".join(s for _, s, _ in flags if s)
    valued = "|".join(
        sorted({f for f, _, t in flags if t == "1"} | {s for _, s, t in flags if s and t == "1"})
    )
    return f"""_initdoctor_kubectl() {{
    # pods, namespaces or contexts as kubectl sees them, for the -n/--context on the line
    local args=() i
    for ((i = 1; i < ${{#COMP_WORDS[@]}}; i++)); do
        case "${{COMP_WORDS[i]}}" in
            -n|--namespace|--context|--kubeconfig) args+=("${{COMP_WORDS[i]}}" "${{COMP_WORDS[i+1]}}") ;;
            -A|--all-namespaces) args+=(-A) ;;
        esac
    done
    kubectl --request-timeout=5s "${{args[@]}}" "$@" 2>/dev/null
}}

_initdoctor() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    COMPREPLY=()
    if [[ ${{COMP_CWORD}} -ge 2 && "${{COMP_WORDS[1]}}" == explain ]]; then
        [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "-o --output" -- "$cur")) && return
        [[ "$prev" == -o || "$prev" == --output ]] && COMPREPLY=($(compgen -W "table json markdown" -- "$cur")) && return
        COMPREPLY=($(compgen -W "{" ".join(_rules())}" -- "$cur")); return
    fi
    if [[ ${{COMP_CWORD}} -eq 2 && "${{COMP_WORDS[1]}}" == completion ]]; then
        COMPREPLY=($(compgen -W "{" ".join(SHELLS)}" -- "$cur")); return
    fi
    case "$prev" in
        -o|--output) compopt -o nospace 2>/dev/null
            COMPREPLY=($(compgen -W "{_OUTPUT_WORDS}" -- "$cur"))
            [[ ${{#COMPREPLY[@]}} -eq 1 && "${{COMPREPLY[0]}}" != *= ]] && compopt +o nospace 2>/dev/null
            return ;;
        --fail-on) COMPREPLY=($(compgen -W "{" ".join(FAIL_ON)}" -- "$cur")); return ;;
        --for) COMPREPLY=($(compgen -W "initialized ready" -- "$cur")); return ;;
        --explain|--select|--ignore) COMPREPLY=($(compgen -W "{" ".join(_rules())}" -- "$cur")); return ;;
        -n|--namespace) COMPREPLY=($(compgen -W "$(_initdoctor_kubectl get namespaces -o 'jsonpath={{.items[*].metadata.name}}')" -- "$cur")); return ;;
        --context) COMPREPLY=($(compgen -W "$(_initdoctor_kubectl config get-contexts -o name)" -- "$cur")); return ;;
        {"|".join(_DIRS)}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        {"|".join(f for f in _FILES if f not in _DIRS)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        {valued}) return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "{words}" -- "$cur")); return
    fi
    local types="{" ".join(_types())}"
    if [[ "$cur" == */* ]]; then
        local type="${{cur%%/*}}"
        COMPREPLY=($(compgen -P "$type/" -W "$(_initdoctor_kubectl get "$type" -o 'jsonpath={{.items[*].metadata.name}}')" -- "${{cur#*/}}"))
        return
    fi
    local first="${{COMP_WORDS[1]}}"
    if [[ ${{COMP_CWORD}} -ge 2 && " $types " == *" $first "* ]]; then
        COMPREPLY=($(compgen -W "$(_initdoctor_kubectl get "$first" -o 'jsonpath={{.items[*].metadata.name}}')" -- "$cur"))
        return
    fi
    local extra=""
    [[ ${{COMP_CWORD}} -eq 1 ]] && extra="{" ".join(SUBCOMMANDS)} $types"
    COMPREPLY=($(compgen -W "$extra $(_initdoctor_kubectl get pods -o 'jsonpath={{.items[*].metadata.name}}')" -- "$cur"))
}}
"""


def _bash() -> str:
    return (
        "# initdoctor completion for bash: source <(initdoctor completion bash)\n"
        + _bash_function()
        + "complete -F _initdoctor initdoctor kubectl-initdoctor\n"
    )


def _zsh() -> str:
    # zsh runs the bash function through its bashcompinit layer, as kubectl's own
    # completion did for years: one definition of what completes where.
    return (
        "#compdef initdoctor kubectl-initdoctor\n"
        "# initdoctor completion for zsh: source <(initdoctor completion zsh)\n"
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n"
        + _bash_function()
        + "complete -F _initdoctor initdoctor kubectl-initdoctor\n"
    )


def _fish() -> str:
    lines = [
        "# initdoctor completion for fish: initdoctor completion fish | source",
        "function __initdoctor_kubectl",
        "    kubectl --request-timeout=5s $argv 2>/dev/null",
        "end",
        "complete -c initdoctor -f",
        f"complete -c initdoctor -n __fish_use_subcommand -a '{' '.join(SUBCOMMANDS)}'",
        f"complete -c initdoctor -n __fish_use_subcommand -a '{' '.join(_types())}'",
        "complete -c initdoctor -n __fish_use_subcommand -a "
        "'(__initdoctor_kubectl get pods -o name | string replace pod/ \"\")'",
        f"complete -c initdoctor -n '__fish_seen_subcommand_from explain' -a '{' '.join(_rules())}'",
        f"complete -c initdoctor -n '__fish_seen_subcommand_from completion' -a '{' '.join(SHELLS)}'",
    ]
    values = {
        "--output": _OUTPUT_WORDS,
        "--fail-on": " ".join(FAIL_ON),
        "--for": "initialized ready",
        "--explain": " ".join(_rules()),
    }
    for flag, short, takes in _flags():
        spec = f"complete -c initdoctor -l {flag[2:]}"
        if short:
            spec += f" -s {short[1:]}"
        if flag in values:
            spec += f" -x -a '{values[flag]}'"
        elif flag == "--namespace":
            spec += " -x -a '(__initdoctor_kubectl get namespaces -o name | string replace namespace/ \"\")'"
        elif flag == "--context":
            spec += " -x -a '(__initdoctor_kubectl config get-contexts -o name)'"
        elif flag in _FILES:
            spec += " -r -F"
        elif takes == "1":
            spec += " -x"
        lines.append(spec)
    lines.append("complete -c kubectl-initdoctor -w initdoctor")
    return "\n".join(lines) + "\n"
