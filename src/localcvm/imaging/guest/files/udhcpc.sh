#!/bin/sh
# busybox udhcpc hook: configure eth0 from the lease (QEMU user networking's DHCP server),
# a default route, a host route to the metadata service (169.254.0.23) through the gateway, DNS.
case "$1" in
deconfig)
    ip addr flush dev "$interface" 2>/dev/null
    ip link set "$interface" up
    ;;
bound|renew)
    ip addr flush dev "$interface" 2>/dev/null
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        gw="${router%% *}"
        ip route replace default via "$gw" dev "$interface"
        ip route replace 169.254.0.23 via "$gw" dev "$interface"
        echo "$gw" > /run/localcvm-gateway
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "$ip" > /run/localcvm-ipv4
    echo "localcvm-guest: network $interface $ip/${mask:-24} via ${router%% *}" > /dev/console
    ;;
esac
exit 0
