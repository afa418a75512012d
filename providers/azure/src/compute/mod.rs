//! The `compute` kind on Azure: Linux virtual machines (Microsoft.Compute 2024-07-01) on
//! the target's virtual network, behind a network security group (Microsoft.Network
//! 2024-05-01).
//!
//! | native | local | what |
//! |---|---|---|
//! | `azure_virtual_network` | `@<target>.network` | the target's network, one subnet (`default`), made when the target has a compute resource |
//! | `azure_network_security_group` | `nsg` | one inbound allow rule per port (priorities from 100 up); Azure's default rules deny the rest |
//! | `azure_public_ip` | `ip[i]` | Standard SKU, static, per instance, only when `ports` is not empty |
//! | `azure_network_interface` | `nic[i]` | per instance: the subnet, the security group, the public IP |
//! | `azure_virtual_machine` | `instance[i]` | per instance: size and image from the catalog, `startup` as customData |
//!
//! In place: the machine size (a PATCH of `hardwareProfile.vmSize`: Azure resizes a
//! running machine, restarting it if the new size needs another host), the ports (the
//! security group's rules) and whether instances have public IPs (their NICs). A new
//! image, name, location or startup script replaces the machine: Azure cannot change
//! customData once the machine exists. `count` adds or removes instances.
//!
//! Deleting goes machine, then NIC, then public IP and security group (each depends on
//! the next): ARM refuses to delete a NIC attached to a machine (`NicInUse`), a public IP
//! on a NIC and a subnet with a NIC in it (`InUseSubnetCannotBeDeleted`). A machine's OS
//! disk is created with `deleteOption: Delete`, so deleting the machine deletes its disk.
//!
//! The administrator is `overcast`, with a generated password (see [`vm`]).

pub mod expand;
pub mod network;
pub mod outputs;
pub mod vm;

use overcast_core::ProviderError;

/// The pinned api-version of Microsoft.Network.
pub const NETWORK_API: &str = "2024-05-01";
/// The pinned api-version of Microsoft.Compute.
pub const COMPUTE_API: &str = "2024-07-01";

/// The ARM type of a virtual network.
pub const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";
/// The ARM type of a network security group.
pub const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
/// The ARM type of a public IP address.
pub const PUBLIC_IP_TYPE: &str = "Microsoft.Network/publicIPAddresses";
/// The ARM type of a network interface.
pub const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";
/// The ARM type of a virtual machine.
pub const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

pub use outputs::{outputs, to_abstract};

/// The last segment of an ARM id (a resource's name).
pub(crate) fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The name that follows `segment` in an ARM id (`virtualNetworks` in a subnet id gives
/// the network's name); segment names compare case-insensitively, as ARM's do.
pub(crate) fn name_after<'a>(id: &'a str, segment: &str) -> Option<&'a str> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case(segment) {
            return parts.next().filter(|n| !n.is_empty());
        }
    }
    None
}

/// An input that must be a list of TCP ports.
pub(crate) fn ports_of(
    inputs: &overcast_core::Attrs,
    key: &str,
) -> Result<Vec<u16>, ProviderError> {
    let bad = || ProviderError::invalid(format!("input `{key}` is not a list of TCP ports"));
    match inputs.get(key) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(bad)
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_of_ids_whatever_the_case_of_the_segments() {
        let subnet = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/net/subnets/default";
        assert_eq!(name_after(subnet, "virtualnetworks"), Some("net"));
        assert_eq!(name_after(subnet, "subnets"), Some("default"));
        assert_eq!(name_after(subnet, "publicIPAddresses"), None);
        assert_eq!(last_segment(subnet), "default");
    }
}
