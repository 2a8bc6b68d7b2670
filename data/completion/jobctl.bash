# SPDX-License-Identifier: MIT
# bash completion for jobctl(1)                              -*- shell-script -*-
#
# Verbs, options, option values and job names. Job names are asked from
# jobd (`jobctl list --no-legend`, at the address the command line names),
# bounded by a short timeout; when jobd is away nothing is offered and
# nothing is printed.

__jobctl_verbs="list top status is-active is-failed show cat history timers add update remove start stop
    restart reload kill scale mem read logs apply export server"
__jobctl_common_opts="--address -H --host --bus --json --no-legend --no-pager -l --full -h --help"
__jobctl_setting_opts="--params --workdir --env --buffer-size --write-log --autostart
    --restart --restart-delay --restart-delay-max --restart-reset --start-limit-burst
    --start-limit-interval --stop-signal --stop-timeout --reload-signal --user --group
    --interpreter --memory-max --cpu-quota --tasks-max --memory-restart --runtime-max --history-size
    --ready --ready-timeout --watchdog --health --health-interval --health-timeout
    --health-failures --instances --watch --watch-glob --watch-exclude --watch-action
    --watch-debounce --schedule --overlap --persistent --randomized-delay
    --requires --after --set"
# common/jobd-signal.c's names, without SIG.
__jobctl_signals="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM
    STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"
__jobctl_restart_policies="no on-failure always"

# The options of one verb (besides the common ones).
__jobctl_verb_opts() {
    case $1 in
        add) echo "$__jobctl_setting_opts" ;;
        update) echo "--command --arg --no-schedules --no-requires --no-after $__jobctl_setting_opts" ;;
        list) echo "--state --tree" ;;
        top) echo "-d --delay --sort" ;;
        is-active) echo "-q --quiet" ;;
        is-failed) echo "-q --quiet" ;;
        show) echo "-p --property --value" ;;
        history) echo "-n --lines" ;;
        start) echo "--all --wait" ;;
        stop) echo "--all --wait" ;;
        restart) echo "--all --wait" ;;
        reload) echo "--all" ;;
        remove) echo "--all --force" ;;
        apply) echo "--prune --dry-run --wait --timeout" ;;
        export) echo "-o --output" ;;
        kill) echo "-s --signal --all" ;;
        mem) echo "--bytes" ;;
        read) echo "-n --lines --timestamps" ;;
        logs) echo "-n --lines -S --since -U --until --timestamps -f --follow" ;;
        server) echo "-n --lines" ;;
    esac
}

# The words of the command line up to the cursor, split at blanks only
# (bash also splits at = and :, which addresses and --opt=value are full
# of): sets __jobctl_words and __jobctl_cword.
__jobctl_split() {
    local line=${COMP_LINE:0:COMP_POINT}
    read -ra __jobctl_words <<<"$line"
    [[ ${#__jobctl_words[@]} -eq 0 || $line == *[[:space:]] ]] && __jobctl_words+=("")
    __jobctl_cword=$((${#__jobctl_words[@]} - 1))
}

# Job names, from jobd at the command line's --address/--bus/--host; silent
# and empty when jobd does not answer within a second.
__jobctl_job_names() {
    local -a args=()
    local i
    for ((i = 1; i < __jobctl_cword; i++)); do
        case ${__jobctl_words[i]} in
            --address=*|--host=*|--bus) args+=("${__jobctl_words[i]}") ;;
            --address) args+=("--address=${__jobctl_words[i+1]}") ;;
            -H|--host) args+=("--host=${__jobctl_words[i+1]}") ;;
        esac
    done
    timeout 1 "${__jobctl_words[0]}" list --no-legend "${args[@]}" 2>/dev/null \
        | while read -r name _; do printf '%s\n' "$name"; done
}

_jobctl() {
    local cur
    local -a __jobctl_words
    local __jobctl_cword
    COMPREPLY=()
    __jobctl_split
    cur=${__jobctl_words[__jobctl_cword]}
    __jobctl_reply "$cur"
    # Readline replaces only what follows the last = or : of the word (when
    # they break words, as by default): drop that part from the answers.
    local pre=
    if [[ $cur == *[=:]* ]]; then
        pre=${cur%"${cur##*[=:]}"}
        local ch=${pre: -1}
        [[ $COMP_WORDBREAKS == *"$ch"* ]] || pre=
    fi
    [[ -n $pre ]] && COMPREPLY=("${COMPREPLY[@]#"$pre"}")
    return 0
}

__jobctl_reply() {
    local cur=$1 prev= verb i word
    [[ $__jobctl_cword -gt 0 ]] && prev=${__jobctl_words[__jobctl_cword-1]}

    # The verb: the first word that is not an option (nor --address's or
    # --host's value).
    verb=
    for ((i = 1; i < __jobctl_cword; i++)); do
        word=${__jobctl_words[i]}
        case $word in
            --) break ;;
            --address|-H|--host) ((i++)) ;;
            -*) ;;
            *) verb=$word; break ;;
        esac
    done
    # After `--` comes the job's own command line.
    for ((i = 1; i < __jobctl_cword; i++)); do
        if [[ ${__jobctl_words[i]} == -- ]]; then
            COMPREPLY=($(compgen -c -- "$cur"))
            [[ $i -lt $((__jobctl_cword - 1)) ]] && COMPREPLY=($(compgen -f -- "$cur"))
            return 0
        fi
    done

    # Values of options, as --opt VALUE or --opt=VALUE.
    local opt=$prev value=$cur
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        value=${cur#*=}
    fi
    local -a values=()
    case $opt in
        -s|--signal|--stop-signal|--reload-signal)
            values=($(compgen -W "$__jobctl_signals" -- "${value^^}")) ;;
        --restart)
            values=($(compgen -W "$__jobctl_restart_policies" -- "$value")) ;;
        --overlap)
            values=($(compgen -W "skip restart queue" -- "$value")) ;;
        --write-log|--autostart|--persistent)
            values=($(compgen -W "yes no" -- "$value")) ;;
        --state)
            values=($(compgen -W "up down failed starting stopping" -- "$value")) ;;
        --sort)
            values=($(compgen -W "cpu mem name state" -- "$value")) ;;
        --ready)
            values=($(compgen -W "exec notify log: tcp: exec-probe:" -- "$value")) ;;
        -o|--output)
            values=($(compgen -d -- "$value")) ;;
        --workdir|--watch)
            values=($(compgen -d -- "$value")) ;;
        --watch-action)
            values=($(compgen -W "restart reload" -- "$value")) ;;
        --command|--interpreter)
            values=($(compgen -c -- "$value")) ;;
        --user)
            values=($(compgen -u -- "$value")) ;;
        --group)
            values=($(compgen -g -- "$value")) ;;
        -H|--host)
            values=($(compgen -A hostname -- "$value")) ;;
        -S|--since|-U|--until)
            values=($(compgen -W "today yesterday now" -- "$value")) ;;
        --address|--params|--env|--buffer-size|--restart-delay|--restart-delay-max|\
        --restart-reset|--start-limit-burst|--start-limit-interval|--stop-timeout|\
        --memory-max|--cpu-quota|--tasks-max|--memory-restart|--set|--arg|-n|--lines|--runtime-max|\
        --history-size|--ready-timeout|--watchdog|--timeout|-p|--property|--schedule|\
        --randomized-delay|--health|--health-interval|--health-timeout|--health-failures|--watch-glob|--watch-exclude|--watch-debounce)
            return 0 ;;
        *) opt= ;;
    esac
    if [[ -n $opt ]]; then
        if [[ $cur == --*=* ]]; then
            COMPREPLY=("${values[@]/#/$opt=}")
        else
            COMPREPLY=("${values[@]}")
        fi
        return 0
    fi

    if [[ $cur == -* ]]; then
        local opts=$__jobctl_common_opts
        if [[ -z $verb ]]; then
            opts="$opts --version"
        else
            opts="$opts $(__jobctl_verb_opts "$verb")"
        fi
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$__jobctl_verbs" -- "$cur"))
        return 0
    fi
    case $verb in
        list) ;;
        server) COMPREPLY=($(compgen -W "log" -- "$cur")) ;;
        add) ;;  # a new name
        apply) COMPREPLY=($(compgen -f -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$(__jobctl_job_names)" -- "$cur")) ;;
    esac
    return 0
}

complete -F _jobctl jobctl
