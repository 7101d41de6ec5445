# Sourced by boot.sh: read the NoCloud seed (a vfat or iso9660 file system labelled cidata).
# Sets: seed (mount point or ""), instance_id, local_hostname, new_instance (1 when the id changed).
seed=""
instance_id=""
local_hostname=""
new_instance=0
state=/var/lib/localcvm

find_seed() {
    for spec in LABEL=cidata LABEL=CIDATA; do
        dev=$(findfs "$spec" 2>/dev/null) && [ -n "$dev" ] && { echo "$dev"; return 0; }
    done
    return 1
}

meta() {  # meta KEY: the value of "KEY: value" in meta-data, without quotes
    sed -n "s/^$1:[[:space:]]*//p" "$seed/meta-data" 2>/dev/null | head -n 1 | tr -d "\r\"'"
}

set_root_password() {  # set_root_password PLAINTEXT|"" ("" locks password login)
    if [ -n "$1" ]; then
        hash=$(printf '%s\n' "$1" | mkpasswd -m sha512 -P 0)
    else
        hash='*'
    fi
    awk -F: -v OFS=: -v h="$hash" '$1 == "root" { $2 = h } { print }' /etc/shadow > /etc/shadow.new
    chmod 600 /etc/shadow.new
    mv /etc/shadow.new /etc/shadow
}

run_user_data() {  # run a #! user-data script once, output to the console and the log
    cp "$state/user-data" /run/user-data
    chmod 700 /run/user-data
    echo "localcvm-guest: running user-data"
    (
        /run/user-data > /var/log/user-data.log 2>&1
        rc=$?
        cat /var/log/user-data.log > /dev/console
        echo "localcvm-guest: user-data done (exit $rc)" > /dev/console
        sync
    ) &
    ud_pid=$!
    # wait a little so a short script has run by the time SSH answers; a long one goes on behind
    i=0
    while [ $i -lt 200 ] && kill -0 "$ud_pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}

blk_pending() {  # is a virtio block device still without its driver (its /dev node not there yet)?
    for d in /sys/bus/virtio/devices/*; do
        [ "$(cat "$d/device" 2>/dev/null)" = 0x0002 ] && [ ! -e "$d/driver" ] && return 0
    done
    return 1
}

dev=""
i=0
while [ $i -lt 20 ]; do
    dev=$(find_seed) && break
    blk_pending || break  # every disk is probed and none is a seed: do not wait
    sleep 0.1
    i=$((i + 1))
done
if [ -n "$dev" ] && { mount -t vfat -o ro "$dev" /mnt/seed || mount -t iso9660 -o ro "$dev" /mnt/seed; } 2>/dev/null; then
    seed=/mnt/seed
    instance_id=$(meta instance-id)
    local_hostname=$(meta local-hostname)
    echo "localcvm-guest: seed $dev instance-id=${instance_id:-?} hostname=${local_hostname:-?}"
fi

if [ -n "$instance_id" ] && [ "$instance_id" != "$(cat $state/instance-id 2>/dev/null)" ]; then
    new_instance=1
    # a copy of an image booted as a new instance gets its own SSH host keys
    rm -f /etc/dropbear/*_host_key
fi

if [ -n "$local_hostname" ]; then
    echo "$local_hostname" > /etc/hostname
    grep -v '^127\.0\.1\.1[[:space:]]' /etc/hosts > /etc/hosts.new
    printf '127.0.1.1\t%s\n' "$local_hostname" >> /etc/hosts.new
    mv /etc/hosts.new /etc/hosts
fi

if [ -n "$seed" ]; then
    cloud=""
    rm -f "$state/user-data"
    if [ -f "$seed/user-data" ]; then
        cp "$seed/user-data" "$state/user-data"
        case "$(head -c 13 "$state/user-data")" in
            "#cloud-config") cloud=$(awk -f /etc/localcvm/cloud-config.awk "$state/user-data") ;;
        esac
    fi
    # the key list is replaced on every boot with a seed (the driver writes the instance's key pairs)
    { cat "$seed/authorized_keys" 2>/dev/null; echo "$cloud" | sed -n 's/^key //p'; } \
        | grep -v '^[[:space:]]*$' > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
    # optional: where the driver serves the metadata service (see boot.sh and metadata-relay.sh)
    if [ -f "$seed/metadata-endpoint" ]; then
        tr -d ' \r\n' < "$seed/metadata-endpoint" > "$state/metadata-endpoint"
    else
        rm -f "$state/metadata-endpoint"
    fi
    password=$(cat "$seed/root-password" 2>/dev/null)
    [ -z "$password" ] && password=$(echo "$cloud" | sed -n 's/^password //p' | tail -n 1)
    set_root_password "$password"
fi
