#!/bin/sh
# localcvm guest boot (busybox init's sysinit): file systems, NoCloud seed, network, SSH.
# The lines "localcvm-guest: boot <boot-id>" and "localcvm-guest: ready" on the serial console are
# what the QEMU driver waits for.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -o remount,rw / 2>/dev/null
echo "localcvm-guest: boot $(cat /proc/sys/kernel/random/boot_id)"
ip link set lo up
acpid -c /etc/acpi -a /etc/acpid.conf

. /etc/localcvm/seed.sh
hostname -F /etc/hostname

ip link set eth0 up 2>/dev/null
udhcpc -i eth0 -s /etc/localcvm/udhcpc.sh -p /run/udhcpc.pid -t 20 -T 1 -A 2 -b \
    -x hostname:"$(hostname)" >/dev/null 2>&1

if [ -s "$state/metadata-endpoint" ]; then
    # the metadata address answered inside the guest and relayed to the driver's endpoint
    ip addr add 169.254.0.23/32 dev lo 2>/dev/null
    nc -ll -p 80 -e /etc/localcvm/metadata-relay.sh </dev/null >/dev/null 2>&1 &
fi

if [ "$new_instance" = 1 ] && [ -f "$state/user-data" ]; then
    case "$(head -c 2 "$state/user-data")" in
        "#!") run_user_data ;;
    esac
    echo "$cloud" | sed -n 's/^runcmd //p' > /run/runcmd.sh
    if [ -s /run/runcmd.sh ]; then
        echo "localcvm-guest: running cloud-config runcmd"
        sh /run/runcmd.sh >> /var/log/user-data.log 2>&1
    fi
fi
[ -n "$instance_id" ] && echo "$instance_id" > "$state/instance-id"

key=/etc/dropbear/dropbear_ed25519_host_key
[ -f "$key" ] || dropbearkey -t ed25519 -f "$key" >/dev/null 2>&1
# password logins only when root has a password (set from the seed's root-password)
pwopt="-s"
awk -F: '$1 == "root" && $2 ~ /^\$/ { found = 1 } END { exit !found }' /etc/shadow && pwopt=""
dropbear -r "$key" -p 22 $pwopt
i=0
while [ $i -lt 100 ]; do
    netstat -ltn 2>/dev/null | grep -q ':22 ' && break
    sleep 0.05
    i=$((i + 1))
done
sync
echo "localcvm-guest: ready"
