#!/usr/bin/env bash
# Step 3 of the host lifecycle: create the worker's source and destination folders in the data
# folder, owned by the uid the worker's image runs as. Safe to run again.
#
# The data folder is mounted read-write into the worker, so whatever is inside it may have been
# put there by the worker (or by anyone else who writes there): this step, run as root, follows no
# link inside it. A link where a folder should be is refused, naming it. The data folder itself
# (DATA_DIR, and the folders above it) is the operator's setting: a link there is followed, once,
# and named. The folders are made with `mkdir` (never through a link), and their owner and mode are
# set from inside them (`chown .`, `chmod .`) after checking that the folder entered is the one
# meant, so a link swapped in while this runs is refused, never followed.
#
# Reads:
#   DATA_DIR    the data folder, mounted into the worker at /data (default: /data)
#   WORKER_UID  uid and gid of the worker's image (default: 10001)
#   HOST_NAME   name used in messages (default: hostname)
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

WORKER_UID="${WORKER_UID:-10001}"

# The data folder as the kernel sees it: the operator's links in DATA_DIR's own path resolved once.
resolve_data_dir() {
    [ -d "$DATA_DIR" ] || fatal "the data folder $DATA_DIR does not exist" "create it or mount the data disk there (preflight checks this too)"
    DATA_REAL="$(cd -P -- "$DATA_DIR" && pwd -P)" || fatal "cannot enter the data folder $DATA_DIR" "check its permissions"
    if [ "$DATA_REAL" != "$DATA_DIR" ] && [ "$DATA_REAL" != "${DATA_DIR%/}" ]; then
        info "the data folder $DATA_DIR is $DATA_REAL (through a link in its path, the stack's dataDir setting)"
    fi
}

# prepare_folder NAME: DATA_REAL/NAME, a real folder owned by WORKER_UID, mode 0770.
prepare_folder() {
    local folder="${DATA_REAL%/}/$1" inside
    refuse_data_link "$folder"
    if [ ! -e "$folder" ]; then
        # No -p: mkdir never follows a link planted at the last moment (it fails, and the check below names it).
        mkdir -m 0700 -- "$folder" 2>/dev/null || { refuse_data_link "$folder"; [ -d "$folder" ] || fatal "cannot create $folder" "check that $DATA_REAL is writable by root"; }
    fi
    refuse_data_link "$folder"
    [ -d "$folder" ] || fatal "$folder is not a folder" "move it out of the way (it is not the worker's $1) and run pulumi up again"
    (
        cd -P -- "$folder" 2>/dev/null || fatal "$folder vanished (or was replaced) while this step ran; nothing was changed there" \
            "check who writes to $DATA_REAL and run pulumi up again"
        # Entered through a link swapped in since the check: somewhere else; change nothing there.
        inside="$(pwd -P)"
        [ "$inside" = "$folder" ] || fatal "$folder became a link (to $(printf '%q' "$inside")) while this step ran; nothing was changed there" \
            "check who writes to $DATA_REAL, remove the link (rm $folder, not rm -r) and run pulumi up again"
        chown "$WORKER_UID:$WORKER_UID" . ||
            fatal "cannot give $folder to uid $WORKER_UID" "use a file system that keeps Unix owners for $DATA_REAL (not FAT or vboxsf), or fix the mount options"
        chmod 0770 .
    ) || exit 1
}

prepare_folders() {
    resolve_data_dir
    local name
    for name in sourcefolder destinationfolder; do prepare_folder "$name"; done
    info "$DATA_DIR/sourcefolder and $DATA_DIR/destinationfolder are ready for uid $WORKER_UID"
}

prepare_folders
