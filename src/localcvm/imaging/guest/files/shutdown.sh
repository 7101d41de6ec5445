#!/bin/sh
# busybox init runs this on poweroff/reboot: stop the services, write everything to the ext4 root.
echo "localcvm-guest: shutdown" > /dev/console
kill -TERM $(pidof dropbear acpid udhcpc) 2>/dev/null
sync
umount /mnt/seed 2>/dev/null
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
sync
