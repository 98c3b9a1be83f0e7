#!/usr/bin/env bash
# Set up .venv if needed, then run the offline demo; extra arguments go to `auditor demo`.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
.venv/bin/auditor demo "$@"
