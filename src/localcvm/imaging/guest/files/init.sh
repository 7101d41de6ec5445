#!/bin/busybox sh
# localcvm guest initramfs: load the virtio, ext4, seed and power-button modules, find the root
# file system, switch_root into it (busybox init there runs /etc/localcvm/boot.sh).
/bin/busybox mkdir -p /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
release=$(uname -r)
while read -r mod; do
    [ -n "$mod" ] && insmod "/lib/modules/$release/$mod" 2>/dev/null
done < /etc/modules

root=/dev/vda2
for arg in $(cat /proc/cmdline); do
    case "$arg" in root=*) root="${arg#root=}" ;; esac
done
# wait for the disk (virtio probing is asynchronous), then resolve LABEL=/UUID= with findfs
dev=""
i=0
while [ $i -lt 100 ]; do
    case "$root" in
        /dev/*) [ -b "$root" ] && dev="$root" ;;
        *) dev=$(findfs "$root" 2>/dev/null) ;;
    esac
    [ -n "$dev" ] && break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$dev" ]; then
    echo "localcvm-guest: root file system $root not found; dropping to a shell"
    exec sh
fi
if ! mount -t ext4 -o rw "$dev" /newroot; then
    echo "localcvm-guest: cannot mount $dev; dropping to a shell"
    exec sh
fi
mount --move /dev /newroot/dev
umount /sys
umount /proc
exec switch_root /newroot /sbin/init
