//! The Microsoft.Network natives of the compute kind: the target's virtual network, and
//! per compute resource a network security group, public IPs and NICs.
//!
//! Updates are PUTs of the whole resource (Microsoft.Network's PATCH only changes tags),
//! with the tags the resource carries: an update request has no owner of its own.

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::expand::{FIRST_PRIORITY, SUBNET};
use super::{
    NETWORK_API, NIC_TYPE, NSG_TYPE, PUBLIC_IP_TYPE, VNET_TYPE, last_segment, name_after, ports_of,
};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, str_of, tags};

/// `{"id": ...}`: how one ARM resource refers to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SubResource {
    pub id: String,
}

/// The tags a resource carries now (kept by a whole-resource PUT).
async fn live_tags(c: &Clients, id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    #[derive(Deserialize)]
    struct Tagged {
        #[serde(default)]
        tags: Option<BTreeMap<String, String>>,
    }
    let t: Tagged = c.arm.get(id, NETWORK_API).await?;
    Ok(t.tags.unwrap_or_default())
}

// --- the virtual network --------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct VnetBody<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
    properties: VnetProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VnetProps {
    #[serde(default)]
    address_space: AddressSpace,
    // Always sent: a network PUT without its subnets deletes them.
    #[serde(default)]
    subnets: Vec<Subnet>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressSpace {
    #[serde(default)]
    address_prefixes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Subnet {
    name: String,
    #[serde(default)]
    properties: SubnetProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubnetProps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address_prefix: Option<String>,
    #[serde(default, skip_serializing)]
    address_prefixes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct VnetLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: VnetProps,
}

fn vnet_props(inputs: &Attrs) -> Result<VnetProps, ProviderError> {
    Ok(VnetProps {
        address_space: AddressSpace {
            address_prefixes: vec![str_of(inputs, "address_space")?.to_string()],
        },
        subnets: vec![Subnet {
            name: str_of(inputs, "subnet")?.to_string(),
            properties: SubnetProps {
                address_prefix: Some(str_of(inputs, "subnet_prefix")?.to_string()),
                address_prefixes: Vec::new(),
            },
        }],
    })
}

/// The `azure_virtual_network` handler: the target's network and its one subnet.
pub struct VirtualNetwork;

impl VirtualNetwork {
    fn observe(live: VnetLive, subnet: &str) -> Read {
        let p = &live.properties;
        let found = p
            .subnets
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(subnet));
        let prefix = found.and_then(|s| {
            s.properties
                .address_prefix
                .clone()
                .or_else(|| s.properties.address_prefixes.first().cloned())
        });
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "address_space": p.address_space.address_prefixes.first(),
            "subnet": found.map(|s| s.name.clone()),
            "subnet_prefix": prefix,
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "subnet_id": found.map(|s| format!("{}/subnets/{}", live.id, s.name)),
        }));
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }
}

#[async_trait]
impl Handler for VirtualNetwork {
    fn api(&self) -> &'static str {
        "network"
    }
    fn kind(&self) -> Kind {
        Kind::Target
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[VNET_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(VNET_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let subnet = st
            .inputs
            .get("subnet")
            .and_then(Value::as_str)
            .unwrap_or(SUBNET);
        Ok(Self::observe(c.arm.get(&st.id, NETWORK_API).await?, subnet))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let i = &req.inputs;
        let id = self.id_of(c, i)?;
        let body = VnetBody {
            location: str_of(i, "location")?,
            tags: &tags(&req.owner),
            properties: vnet_props(i)?,
        };
        let live: VnetLive = c.arm.put(ctx, &id, NETWORK_API, &body).await?;
        Ok(Self::observe(live, str_of(i, "subnet")?).0)
    }
    /// Puts the subnet back (a subnet deleted behind overcast's back, or its prefix).
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let body = VnetBody {
            location: str_of(inputs, "location")?,
            tags: &live_tags(c, &prior.id).await?,
            properties: vnet_props(inputs)?,
        };
        let live: VnetLive = c.arm.put(ctx, &prior.id, NETWORK_API, &body).await?;
        Ok(Self::observe(live, str_of(inputs, "subnet")?).0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        NETWORK_API
    }
}

// --- the network security group ---------------------------------------------------------------

#[derive(Debug, Serialize)]
struct NsgBody<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
    properties: NsgProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NsgProps {
    #[serde(default)]
    security_rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rule {
    name: String,
    properties: RuleProps,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleProps {
    protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_port_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    destination_port_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_address_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    destination_address_prefix: Option<String>,
    access: String,
    priority: u64,
    direction: String,
}

#[derive(Debug, Deserialize)]
struct NsgLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: NsgProps,
}

/// One inbound rule per port, allowing TCP from anywhere, in port order.
pub(crate) fn rules(ports: &[u16]) -> Vec<Rule> {
    ports
        .iter()
        .zip(FIRST_PRIORITY..)
        .map(|(port, priority)| Rule {
            name: format!("allow-tcp-{port}"),
            properties: RuleProps {
                protocol: "Tcp".into(),
                source_port_range: Some("*".into()),
                destination_port_range: Some(port.to_string()),
                source_address_prefix: Some("*".into()),
                destination_address_prefix: Some("*".into()),
                access: "Allow".into(),
                priority,
                direction: "Inbound".into(),
            },
        })
        .collect()
}

/// The ports a security group's rules open: every single TCP port an inbound rule allows
/// from anywhere, in port order (ranges and narrower rules are not a compute's ports).
fn open_ports(rules: &[Rule]) -> Vec<u16> {
    let mut ports: Vec<u16> = rules
        .iter()
        .map(|r| &r.properties)
        .filter(|p| {
            p.direction.eq_ignore_ascii_case("Inbound")
                && p.access.eq_ignore_ascii_case("Allow")
                && (p.protocol.eq_ignore_ascii_case("Tcp") || p.protocol == "*")
                && p.source_address_prefix
                    .as_deref()
                    .is_some_and(|s| s == "*" || s.eq_ignore_ascii_case("Internet"))
        })
        .filter_map(|p| p.destination_port_range.as_deref()?.parse().ok())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The `azure_network_security_group` handler: a compute resource's open ports.
pub struct SecurityGroup;

impl SecurityGroup {
    fn observe(live: NsgLive) -> Read {
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "ports": open_ports(&live.properties.security_rules),
        }));
        let outputs = attrs(json!({"name": live.name}));
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }

    async fn put(
        &self,
        c: &Clients,
        ctx: &OpContext,
        id: &str,
        inputs: &Attrs,
        tags: &BTreeMap<String, String>,
    ) -> Result<Observed, ProviderError> {
        let body = NsgBody {
            location: str_of(inputs, "location")?,
            tags,
            properties: NsgProps {
                security_rules: rules(&ports_of(inputs, "ports")?),
            },
        };
        let live: NsgLive = c.arm.put(ctx, id, NETWORK_API, &body).await?;
        Ok(Self::observe(live).0)
    }
}

#[async_trait]
impl Handler for SecurityGroup {
    fn api(&self) -> &'static str {
        "network"
    }
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[NSG_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(NSG_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        Ok(Self::observe(c.arm.get(&st.id, NETWORK_API).await?))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        self.put(c, ctx, &id, &req.inputs, &tags(&req.owner)).await
    }
    /// The rules, all at once: a PUT replaces the group's rules with the ones it lists.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let tags = live_tags(c, &prior.id).await?;
        self.put(c, ctx, &prior.id, inputs, &tags).await
    }
    fn api_version(&self, _id: &str) -> &'static str {
        NETWORK_API
    }
}

// --- the public IP ----------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct PipSku {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
}

#[derive(Debug, Serialize)]
struct PipBody<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
    sku: PipSku,
    properties: PipProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PipProps {
    #[serde(rename = "publicIPAllocationMethod", default)]
    allocation: Option<String>,
    #[serde(rename = "publicIPAddressVersion", default)]
    version: Option<String>,
    #[serde(default, skip_serializing)]
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PipLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: PipProps,
}

/// The `azure_public_ip` handler: an instance's public address (Standard SKU, static:
/// the address is known once the create ends and kept until the IP is deleted).
pub struct PublicIp;

impl PublicIp {
    fn observe(live: PipLive) -> Read {
        let inputs = attrs(json!({"name": live.name, "location": live.location}));
        let outputs = attrs(json!({"name": live.name, "address": live.properties.ip_address}));
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }
}

#[async_trait]
impl Handler for PublicIp {
    fn api(&self) -> &'static str {
        "network"
    }
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[PUBLIC_IP_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(PUBLIC_IP_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        Ok(Self::observe(c.arm.get(&st.id, NETWORK_API).await?))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let body = PipBody {
            location: str_of(&req.inputs, "location")?,
            tags: &tags(&req.owner),
            // Basic SKU public IPs are retired; Standard ones must be static.
            sku: PipSku {
                name: "Standard".into(),
                tier: Some("Regional".into()),
            },
            properties: PipProps {
                allocation: Some("Static".into()),
                version: Some("IPv4".into()),
                ip_address: None,
            },
        };
        let live: PipLive = c.arm.put(ctx, &id, NETWORK_API, &body).await?;
        Ok(Self::observe(live).0)
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Every input forces a replacement.
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        NETWORK_API
    }
}

// --- the network interface ---------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct NicBody<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
    properties: NicProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NicProps {
    #[serde(default)]
    ip_configurations: Vec<IpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    network_security_group: Option<SubResource>,
    #[serde(default, skip_serializing)]
    virtual_machine: Option<SubResource>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IpConfig {
    name: String,
    #[serde(default)]
    properties: IpConfigProps,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IpConfigProps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subnet: Option<SubResource>,
    #[serde(
        rename = "privateIPAllocationMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    allocation: Option<String>,
    #[serde(rename = "privateIPAddress", default, skip_serializing)]
    private_ip: Option<String>,
    #[serde(
        rename = "publicIPAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    public_ip: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    primary: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct NicLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: NicProps,
}

/// The name of a NIC's one IP configuration.
const IP_CONFIG: &str = "primary";

fn nic_props(c: &Clients, inputs: &Attrs) -> Result<NicProps, ProviderError> {
    let subnet = format!(
        "{}/subnets/{}",
        c.id(VNET_TYPE, str_of(inputs, "network")?),
        str_of(inputs, "subnet")?
    );
    let public_ip = match inputs.get("public_ip") {
        Some(Value::String(name)) if !name.is_empty() => Some(SubResource {
            id: c.id(PUBLIC_IP_TYPE, name),
        }),
        _ => None,
    };
    Ok(NicProps {
        ip_configurations: vec![IpConfig {
            name: IP_CONFIG.into(),
            properties: IpConfigProps {
                subnet: Some(SubResource { id: subnet }),
                allocation: Some("Dynamic".into()),
                private_ip: None,
                public_ip,
                primary: Some(true),
            },
        }],
        network_security_group: Some(SubResource {
            id: c.id(NSG_TYPE, str_of(inputs, "nsg")?),
        }),
        virtual_machine: None,
    })
}

/// The `azure_network_interface` handler: an instance's NIC in the target's subnet.
pub struct NetworkInterface;

impl NetworkInterface {
    fn observe(live: NicLive) -> Read {
        let p = &live.properties;
        let cfg = p
            .ip_configurations
            .iter()
            .find(|c| c.properties.primary == Some(true))
            .or_else(|| p.ip_configurations.first())
            .map(|c| &c.properties);
        let subnet = cfg.and_then(|c| c.subnet.as_ref()).map(|s| s.id.as_str());
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "network": subnet.and_then(|s| name_after(s, "virtualNetworks")),
            "subnet": subnet.and_then(|s| name_after(s, "subnets")),
            "nsg": p.network_security_group.as_ref().map(|n| last_segment(&n.id)),
            "public_ip": cfg.and_then(|c| c.public_ip.as_ref()).map(|i| last_segment(&i.id)),
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "private_address": cfg.and_then(|c| c.private_ip.clone()),
            "virtual_machine": p.virtual_machine.as_ref().map(|v| v.id.clone()),
        }));
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }

    async fn put(
        &self,
        c: &Clients,
        ctx: &OpContext,
        id: &str,
        inputs: &Attrs,
        tags: &BTreeMap<String, String>,
    ) -> Result<Observed, ProviderError> {
        let body = NicBody {
            location: str_of(inputs, "location")?,
            tags,
            properties: nic_props(c, inputs)?,
        };
        let live: NicLive = c.arm.put(ctx, id, NETWORK_API, &body).await?;
        Ok(Self::observe(live).0)
    }
}

/// A NIC delete refused because Azure still holds the NIC for the machine just deleted:
/// it says to try again after 180 seconds, so it is worth waiting out.
fn reserved_as_retryable(e: ProviderError) -> ProviderError {
    if e.message.contains("NicReservedForAnotherVm") {
        return ProviderError::retryable(e.message)
            .with_retry_after(std::time::Duration::from_secs(60))
            .with_hint(
                "Azure keeps a NIC for its deleted machine for 180 seconds; the delete is tried again",
            );
    }
    e
}

#[async_trait]
impl Handler for NetworkInterface {
    fn api(&self) -> &'static str {
        "network"
    }
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[NIC_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(NIC_TYPE, str_of(inputs, "name")?))
    }
    fn api_version(&self, _id: &str) -> &'static str {
        NETWORK_API
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        Ok(Self::observe(c.arm.get(&st.id, NETWORK_API).await?))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        self.put(c, ctx, &id, &req.inputs, &tags(&req.owner)).await
    }
    /// The security group and the public IP (ports opened or closed): Azure changes them on
    /// a NIC in use.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let tags = live_tags(c, &prior.id).await?;
        self.put(c, ctx, &prior.id, inputs, &tags).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        c.arm
            .delete(ctx, &prior.id, NETWORK_API)
            .await
            .map_err(reserved_as_retryable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::ErrorClass;

    #[test]
    fn rules_open_each_port_from_priority_100_and_read_back_as_the_ports() {
        let r = rules(&[22, 80, 443]);
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(
            v[0],
            json!({"name": "allow-tcp-22", "properties": {
                "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22",
                "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
                "access": "Allow", "priority": 100, "direction": "Inbound"}})
        );
        assert_eq!(v[2]["properties"]["priority"], 102);
        assert_eq!(open_ports(&r), [22, 80, 443]);
        // A rule overcast did not write and cannot express is not a port.
        let mut other = rules(&[8080]);
        other[0].properties.destination_port_range = Some("8000-9000".into());
        assert!(open_ports(&other).is_empty());
        let mut deny = rules(&[25]);
        deny[0].properties.access = "Deny".into();
        assert!(open_ports(&deny).is_empty());
    }

    #[test]
    fn a_nic_reads_back_its_network_subnet_security_group_and_public_ip() {
        let sub = "/subscriptions/s/resourceGroups/g/providers";
        let live: NicLive = serde_json::from_value(json!({
            "id": format!("{sub}/Microsoft.Network/networkInterfaces/nic"),
            "name": "nic", "location": "westeurope",
            "tags": {"a": "b"},
            "properties": {
                "ipConfigurations": [{"name": "primary", "properties": {
                    "subnet": {"id": format!("{sub}/Microsoft.Network/virtualNetworks/net/subnets/default")},
                    "privateIPAddress": "10.0.0.4", "privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {"id": format!("{sub}/Microsoft.Network/publicIPAddresses/ip")},
                    "primary": true}}],
                "networkSecurityGroup": {"id": format!("{sub}/Microsoft.Network/networkSecurityGroups/nsg")},
                "virtualMachine": {"id": format!("{sub}/Microsoft.Compute/virtualMachines/vm")}
            }
        }))
        .expect("a NIC");
        let (obs, tags) = NetworkInterface::observe(live);
        assert_eq!(
            Value::Object(obs.inputs),
            json!({"name": "nic", "location": "westeurope", "network": "net", "subnet": "default",
                   "nsg": "nsg", "public_ip": "ip"})
        );
        assert_eq!(obs.outputs["private_address"], "10.0.0.4");
        assert_eq!(tags.map(|t| t.len()), Some(1));
    }

    #[test]
    fn a_reserved_nic_is_waited_for_and_other_errors_are_not() {
        let e = crate::errors::arm(
            "DELETE nic",
            400,
            br#"{"error":{"code":"NicReservedForAnotherVm","message":"retry after 180 seconds"}}"#,
            None,
        );
        let e = reserved_as_retryable(e);
        assert_eq!(e.class, ErrorClass::Retryable);
        assert!(e.retry_after.is_some());
        let e = crate::errors::arm(
            "DELETE nic",
            400,
            br#"{"error":{"code":"NicInUse","message":"in use"}}"#,
            None,
        );
        // In use by a machine: a conflict (deleted once the machine is gone), not a wait.
        assert_eq!(reserved_as_retryable(e).class, ErrorClass::Conflict);
    }
}
