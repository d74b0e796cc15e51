#!/bin/sh
# cachekit's job-completed hook for self-hosted GitHub runners: prune the runner's caches
# after every job, by the policy in a file. Install (in the runner's directory):
#   echo "ACTIONS_RUNNER_HOOK_JOB_COMPLETED=/path/to/cachekit/.github/actions/prune-caches/runner-hook.sh" >> .env
# The policy file (default: runner-policy.env beside this script, or $CACHEKIT_POLICY_FILE)
# sets CACHEKIT_MAX_SIZE, CACHEKIT_OLDER_THAN, CACHEKIT_KEEP, CACHEKIT_MIN_FREE,
# CACHEKIT_MANAGERS, CACHEKIT_CI. A failed prune is reported and never fails the job.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
policy=${CACHEKIT_POLICY_FILE:-$here/runner-policy.env}
case $policy in /*) ;; *) policy=./$policy ;; esac  # `.` would search PATH otherwise
if [ ! -r "$policy" ]; then
    echo "cachekit: no policy file at $policy; nothing pruned" >&2
    exit 0
fi
# A subshell: a broken line in the policy file fails the prune, never the job.
( set -a; . "$policy"; set +a; exec python3 "$here/prune_caches.py" ) ||
    echo "cachekit: the prune failed (exit $?); the job is not affected" >&2
