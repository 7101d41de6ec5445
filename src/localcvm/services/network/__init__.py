"""Networks (vpc 2017-03-12): VPCs, subnets, private addresses, security groups and their rules, and
the firewall that applies the rules to new connections."""

from .defaults import default_group, default_subnet, default_vpc
from .rules import PolicyInput, PolicySetInput
from .service import NetworkService
from .subnets import SubnetInput
from .views import (Decision, GroupStats, GroupView, Placement, PolicySetView, PolicyView, SubnetView, UsedAddress,
                    VpcView)

__all__ = ["Decision", "GroupStats", "GroupView", "NetworkService", "Placement", "PolicyInput", "PolicySetInput",
           "PolicySetView", "PolicyView", "SubnetInput", "SubnetView", "UsedAddress", "VpcView", "default_group",
           "default_subnet", "default_vpc"]
