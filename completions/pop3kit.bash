# bash completion for pop3kit(1)                           -*- shell-script -*-
#
# Installed as share/bash-completion/completions/pop3kit, where
# bash-completion loads it on first use. The option lists follow
# apps/pop3kit/main.cpp (and fetch's options); the doc tests
# (doc/test-completion) check them against `pop3kit CMD --help`.

# Options of every command, and those that take a value.
_pop3kit_global_opts='-h --help -v --verbose -q --quiet --timeout --connect-timeout --deadline -4 -6
  --plaintext --allow-plaintext-password --password-command --token-command --ca-file --ca-dir
  --cert --key --pin --pin-only --tls-min --channel-binding --no-utf8'
_pop3kit_commands='capa stat list retr top dele fetch'
# Every option that takes a value, any command: used to skip the value when
# looking for the command and the arguments.
_pop3kit_value_opts='--timeout --connect-timeout --deadline --password-command --token-command --ca-file
  --ca-dir --cert --key --pin --tls-min --channel-binding -o --output --name --to --max-size --state
  --shard --jobs --max-per-host -c --config'

# The options of command $1 (besides the global ones).
_pop3kit_command_opts() {
    case $1 in
        retr) printf '%s\n' -o --output --name ;;
        fetch) printf '%s\n' --to --keep --delete --all --max-size --dry-run --state --shard \
            --jobs --max-per-host --json -c --config ;;
    esac
}

# COMPREPLY: the words of `compgen ARGS...`, one per line.
_pop3kit_reply() {
    mapfile -t COMPREPLY < <(compgen "$@")
}

# Is $1 an option that takes a value?
_pop3kit_takes_value() {
    local o
    for o in $_pop3kit_value_opts; do
        [[ $1 == "$o" ]] && return 0
    done
    return 1
}

# The account names ([account.NAME] tables) of the config file: the one
# after -c/--config on the line, else $XDG_CONFIG_HOME/pop3kit/config.toml
# (an absolute XDG_CONFIG_HOME only, as pop3kit does), else
# ~/.config/pop3kit/config.toml.
_pop3kit_accounts() {
    local file="" i w
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == -c || $w == --config ]]; then
            # "--config=FILE" is split at "=" by bash: "--config" "=" "FILE".
            [[ ${COMP_WORDS[i + 1]-} == = ]] && ((i++))
            file=${COMP_WORDS[i + 1]-}
        elif [[ $w == --config=?* ]]; then
            file=${w#--config=}
        fi
    done
    if [[ -z $file ]]; then
        if [[ ${XDG_CONFIG_HOME-} == /* ]]; then
            file=$XDG_CONFIG_HOME/pop3kit/config.toml
        else
            file=${HOME-}/.config/pop3kit/config.toml
        fi
    fi
    # shellcheck disable=SC2088 # a literal "~/" typed on the line
    [[ $file == "~/"* ]] && file=${HOME-}/${file#"~/"}
    [[ -r $file ]] || return 0
    # [account.NAME] or [account."NAME"], spaces allowed around the parts.
    command sed -n -E \
        -e 's/^[[:space:]]*\[[[:space:]]*account[[:space:]]*\.[[:space:]]*"([^"]+)"[[:space:]]*\].*/\1/p' \
        -e "s/^[[:space:]]*\\[[[:space:]]*account[[:space:]]*\\.[[:space:]]*'([^']+)'[[:space:]]*\\].*/\\1/p" \
        -e 's/^[[:space:]]*\[[[:space:]]*account[[:space:]]*\.[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]*\].*/\1/p' \
        -- "$file" 2>/dev/null
}

_pop3kit() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        # Keep ":" in the word (maildir:PATH), and split --opt=value.
        _init_completion -s -n : || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    # The command, and the arguments (not options) after it.
    local cmd="" i w
    local -a args=()
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $w == -* ]]; then
            if [[ $w != *=* ]] && _pop3kit_takes_value "$w"; then
                # Its value: "--opt VALUE", or "--opt=VALUE" split by bash.
                [[ ${words[i + 1]-} == = ]] && ((i++))
                ((i++))
            fi
        elif [[ -z $cmd ]]; then
            cmd=$w
        else
            args+=("$w")
        fi
    done

    # The value of an option.
    case $prev in
        --ca-file | --cert | --key | --state | -c | --config)
            _filedir
            return
            ;;
        --ca-dir | -o | --output)
            _filedir -d
            return
            ;;
        --password-command | --token-command)
            _pop3kit_reply -c -- "$cur"
            return
            ;;
        --tls-min)
            _pop3kit_reply -W '1.2 1.3' -- "$cur"
            return
            ;;
        --channel-binding)
            _pop3kit_reply -W 'auto tls-exporter tls-unique tls-server-end-point none' -- "$cur"
            return
            ;;
        --name)
            _pop3kit_reply -W 'uid number' -- "$cur"
            return
            ;;
        --pin)
            _pop3kit_reply -W 'cert: spki:' -- "$cur"
            compopt -o nospace
            declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
            return
            ;;
        --to)
            case $cur in
                maildir:* | mbox:*)
                    # A path after the prefix.
                    local prefix=${cur%%:*}: path=${cur#*:} f
                    local -a found
                    if [[ $prefix == maildir: ]]; then
                        mapfile -t found < <(compgen -d -- "$path")
                    else
                        mapfile -t found < <(compgen -f -- "$path")
                    fi
                    COMPREPLY=()
                    for f in "${found[@]}"; do
                        [[ -d $f ]] && f+=/
                        COMPREPLY+=("$prefix$f")
                    done
                    compopt -o nospace
                    ;;
                mda:*)
                    local prefix=mda: command=${cur#mda:} f
                    COMPREPLY=()
                    while IFS= read -r f; do
                        COMPREPLY+=("$prefix$f")
                    done < <(compgen -c -- "$command")
                    ;;
                *)
                    _pop3kit_reply -W 'maildir: mbox: mda:' -- "$cur"
                    compopt -o nospace
                    ;;
            esac
            declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
            return
            ;;
        --timeout | --connect-timeout | --deadline | --max-size)
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        local opts=$_pop3kit_global_opts
        if [[ -n $cmd ]]; then
            opts+=" $(_pop3kit_command_opts "$cmd")"
        else
            opts+=" --version"
        fi
        _pop3kit_reply -W "$opts" -- "$cur"
        return
    fi

    if [[ -z $cmd ]]; then
        _pop3kit_reply -W "$_pop3kit_commands" -- "$cur"
        return
    fi

    case $cmd in
        fetch)
            # Account names, once each; a URL is typed by hand.
            local name a seen
            local -a names=()
            while IFS= read -r name; do
                seen=""
                for a in "${args[@]}"; do
                    [[ $a == "$name" ]] && seen=1
                done
                [[ -z $seen ]] && names+=("$name")
            done < <(_pop3kit_accounts)
            local IFS=$'\n'
            _pop3kit_reply -W "${names[*]}" -- "$cur"
            ;;
        retr)
            # After the URL: message numbers, or "all".
            ((${#args[@]} >= 1)) && _pop3kit_reply -W 'all' -- "$cur"
            ;;
    esac
} &&
    complete -F _pop3kit pop3kit

# ex: filetype=sh
