#!/bin/sh
# One connection to the instance metadata address (169.254.0.23:80, answered inside the guest by
# `nc -ll`), relayed to the endpoint the driver named in the seed's metadata-endpoint ("HOST:PORT",
# or ":PORT" for the DHCP gateway, which QEMU user networking maps to the host's 127.0.0.1).
endpoint=$(cat /var/lib/localcvm/metadata-endpoint)
host="${endpoint%:*}"
port="${endpoint##*:}"
[ -n "$host" ] || host=$(cat /run/localcvm-gateway)
exec nc -w 5 "$host" "$port"
