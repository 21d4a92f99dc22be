#!/usr/bin/env bash
# Step 3 of the host lifecycle: create the worker's source and destination folders in the data
# folder, owned by the uid the worker's image runs as. Safe to run again.
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

prepare_folders() {
    [ -d "$DATA_DIR" ] || fatal "the data folder $DATA_DIR does not exist" "create it or mount the data disk there (preflight checks this too)"
    local folder
    for folder in sourcefolder destinationfolder; do
        mkdir -p "$DATA_DIR/$folder"
        chown "$WORKER_UID:$WORKER_UID" "$DATA_DIR/$folder" ||
            fatal "cannot give $DATA_DIR/$folder to uid $WORKER_UID" "use a file system that keeps Unix owners for $DATA_DIR (not FAT or vboxsf), or fix the mount options"
        chmod 0770 "$DATA_DIR/$folder"
    done
    info "$DATA_DIR/sourcefolder and $DATA_DIR/destinationfolder are ready for uid $WORKER_UID"
}

prepare_folders
