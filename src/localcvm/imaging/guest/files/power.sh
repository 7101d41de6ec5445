#!/bin/sh
# busybox acpid runs this on the ACPI power button (QEMU's system_powerdown): a clean poweroff.
echo "localcvm-guest: power button, shutting down" > /dev/console
exec /sbin/poweroff
