//! The `azure_virtual_machine` handler: a Linux machine from a Marketplace image, on one
//! NIC, its OS disk deleted with it.
//!
//! Azure wants an administrator with a password or an SSH key. The administrator is
//! `overcast`, with a password generated before the create (24 random letters and digits,
//! the database servers' generator), carried in the write-ahead intent and kept in state
//! as a sensitive output: ARM never returns it. A password rather than a key: a compute
//! resource has no property to take a key from nor an output to hand a private key back
//! on, a generated key would need a key-generation dependency, and a 24-character random
//! password (about 140 bits) cannot be guessed over SSH. Access meant for people belongs
//! in the `startup` script (an `authorized_keys` line), which customData carries.

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::expand::urn_parts;
use super::{COMPUTE_API, NIC_TYPE, VM_TYPE, last_segment};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, str_of, tags};

/// The OS disk's storage: Standard SSD, which every size takes (Premium needs an `s` size).
const OS_DISK_STORAGE: &str = "StandardSSD_LRS";

#[derive(Debug, Serialize)]
struct VmBody<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
    properties: VmProps<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VmProps<'a> {
    hardware_profile: HardwareProfile,
    storage_profile: StorageProfile<'a>,
    os_profile: OsProfile<'a>,
    network_profile: NetworkProfile,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HardwareProfile {
    vm_size: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfile<'a> {
    image_reference: ImageReference<'a>,
    os_disk: OsDisk,
}

#[derive(Debug, Serialize)]
struct ImageReference<'a> {
    publisher: &'a str,
    offer: &'a str,
    sku: &'a str,
    version: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OsDisk {
    create_option: &'static str,
    // Deleting the machine deletes its disk: nothing is left behind.
    delete_option: &'static str,
    managed_disk: ManagedDisk,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ManagedDisk {
    storage_account_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OsProfile<'a> {
    computer_name: &'a str,
    admin_username: &'a str,
    admin_password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_data: Option<String>,
    linux_configuration: LinuxConfiguration,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LinuxConfiguration {
    disable_password_authentication: bool,
    #[serde(rename = "provisionVMAgent")]
    provision_vm_agent: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkProfile {
    network_interfaces: Vec<NicReference>,
}

#[derive(Debug, Serialize)]
struct NicReference {
    id: String,
    properties: NicReferenceProps,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NicReferenceProps {
    primary: bool,
    // The NIC is a native of its own: deleting the machine leaves it to its own delete.
    delete_option: &'static str,
}

#[derive(Debug, Deserialize)]
struct VmLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: VmLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VmLiveProps {
    #[serde(default)]
    hardware_profile: Option<HardwareProfile>,
    #[serde(default)]
    storage_profile: Option<StorageLive>,
    #[serde(default)]
    os_profile: Option<OsLive>,
    #[serde(default)]
    network_profile: Option<NetworkLive>,
    #[serde(default)]
    vm_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageLive {
    #[serde(default)]
    image_reference: Option<ImageLive>,
    #[serde(default)]
    os_disk: Option<OsDiskLive>,
}

#[derive(Debug, Default, Deserialize)]
struct ImageLive {
    #[serde(default)]
    publisher: Option<String>,
    #[serde(default)]
    offer: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsDiskLive {
    #[serde(default)]
    delete_option: Option<String>,
    #[serde(default)]
    managed_disk: Option<ManagedDiskLive>,
}

#[derive(Debug, Default, Deserialize)]
struct ManagedDiskLive {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsLive {
    #[serde(default)]
    admin_username: Option<String>,
    #[serde(default)]
    custom_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkLive {
    #[serde(default)]
    network_interfaces: Vec<NicReferenceLive>,
}

#[derive(Debug, Default, Deserialize)]
struct NicReferenceLive {
    id: String,
    #[serde(default)]
    properties: Option<NicReferenceLiveProps>,
}

#[derive(Debug, Default, Deserialize)]
struct NicReferenceLiveProps {
    #[serde(default)]
    primary: Option<bool>,
}

impl ImageLive {
    /// The image as a URN (or the image resource's id, for an image not from the
    /// Marketplace).
    fn urn(&self) -> Option<String> {
        match (&self.publisher, &self.offer, &self.sku, &self.version) {
            (Some(p), Some(o), Some(s), Some(v)) => Some(format!("{p}:{o}:{s}:{v}")),
            _ => self.id.clone(),
        }
    }
}

/// The body of a machine's create.
fn body<'a>(
    c: &Clients,
    inputs: &'a Attrs,
    password: &'a str,
    tags: &'a BTreeMap<String, String>,
) -> Result<VmBody<'a>, ProviderError> {
    let name = str_of(inputs, "name")?;
    let image = str_of(inputs, "image")?;
    let [publisher, offer, sku, version] = urn_parts(image).ok_or_else(|| {
        ProviderError::invalid(format!(
            "virtual machine `{name}`: image `{image}` is not a Marketplace image URN \
             (PUBLISHER:OFFER:SKU:VERSION)"
        ))
    })?;
    let startup = inputs
        .get("startup")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(VmBody {
        location: str_of(inputs, "location")?,
        tags,
        properties: VmProps {
            hardware_profile: HardwareProfile {
                vm_size: str_of(inputs, "size")?.to_string(),
            },
            storage_profile: StorageProfile {
                image_reference: ImageReference {
                    publisher,
                    offer,
                    sku,
                    version,
                },
                os_disk: OsDisk {
                    create_option: "FromImage",
                    delete_option: "Delete",
                    managed_disk: ManagedDisk {
                        storage_account_type: OS_DISK_STORAGE,
                    },
                },
            },
            os_profile: OsProfile {
                computer_name: name,
                admin_username: str_of(inputs, "admin_username")?,
                admin_password: password,
                custom_data: (!startup.is_empty()).then(|| BASE64.encode(startup)),
                linux_configuration: LinuxConfiguration {
                    disable_password_authentication: false,
                    provision_vm_agent: true,
                },
            },
            network_profile: NetworkProfile {
                network_interfaces: vec![NicReference {
                    id: c.id(NIC_TYPE, str_of(inputs, "nic")?),
                    properties: NicReferenceProps {
                        primary: true,
                        delete_option: "Detach",
                    },
                }],
            },
        },
    })
}

/// The `azure_virtual_machine` handler.
pub struct VirtualMachine;

impl VirtualMachine {
    /// The machine as overcast sees it. `recorded` is its state: what ARM does not return
    /// (the password; customData, which ARM may leave out of a read) comes from there.
    fn observe(live: VmLive, recorded: &NativeState) -> Read {
        let p = &live.properties;
        let os = p.os_profile.as_ref();
        let image = p
            .storage_profile
            .as_ref()
            .and_then(|s| s.image_reference.as_ref())
            .and_then(ImageLive::urn);
        // The recorded form when it names the same image (ARM compares them
        // case-insensitively).
        let image = match (image, recorded.inputs.get("image").and_then(Value::as_str)) {
            (Some(live), Some(rec)) if live.eq_ignore_ascii_case(rec) => Some(rec.to_string()),
            (live, _) => live,
        };
        let startup = match os.and_then(|o| o.custom_data.as_deref()) {
            Some(b64) => BASE64
                .decode(b64)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map_or(Value::Null, Value::String),
            None => recorded
                .inputs
                .get("startup")
                .cloned()
                .unwrap_or(Value::Null),
        };
        let nics = p
            .network_profile
            .as_ref()
            .map(|n| n.network_interfaces.as_slice())
            .unwrap_or_default();
        let nic = nics
            .iter()
            .find(|n| n.properties.as_ref().and_then(|p| p.primary) == Some(true))
            .or_else(|| nics.first())
            .map(|n| last_segment(&n.id));
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "size": p.hardware_profile.as_ref().map(|h| h.vm_size.clone()),
            "image": image,
            "startup": startup,
            "nic": nic,
            "admin_username": os.and_then(|o| o.admin_username.clone()),
        }));
        let disk = p.storage_profile.as_ref().and_then(|s| s.os_disk.as_ref());
        let mut outputs = attrs(json!({
            "name": live.name,
            "vm_id": p.vm_id,
            "admin_username": os.and_then(|o| o.admin_username.clone()),
            "os_disk": disk.and_then(|d| d.managed_disk.as_ref()).and_then(|m| m.id.clone()),
            "os_disk_delete_option": disk.and_then(|d| d.delete_option.clone()),
        }));
        if let Some(pw) = recorded.outputs.get("password") {
            outputs.insert("password".into(), pw.clone());
        }
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }
}

#[async_trait]
impl Handler for VirtualMachine {
    fn api(&self) -> &'static str {
        "compute"
    }
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[VM_TYPE]
    }
    fn generate_secrets(&self) -> Attrs {
        crate::database::generate_secrets()
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(VM_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        Ok(Self::observe(c.arm.get(&st.id, COMPUTE_API).await?, st))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let i = &req.inputs;
        let id = self.id_of(c, i)?;
        let password = req
            .secrets
            .get("password")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::fatal(format!(
                    "virtual machine `{}`: no generated password in the create request",
                    req.addr
                ))
            })?;
        let tags = tags(&req.owner);
        let live: VmLive = c
            .arm
            .put(ctx, &id, COMPUTE_API, &body(c, i, password, &tags)?)
            .await?;
        let mut st = NativeState::new(req.addr.clone(), Kind::Compute, &req.type_name, &live.id);
        st.inputs = i.clone();
        st.outputs.insert("password".into(), json!(password));
        Ok(Self::observe(live, &st).0)
    }
    /// The size: Azure resizes the machine where it runs, or stops, moves and starts it
    /// when its host lacks the new size.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let patch = json!({"properties": {"hardwareProfile": {"vmSize": str_of(inputs, "size")?}}});
        let live: VmLive = c.arm.patch(ctx, &prior.id, COMPUTE_API, &patch).await?;
        Ok(Self::observe(live, prior).0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        COMPUTE_API
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::NativeAddr;

    fn inputs(startup: &str) -> Attrs {
        attrs(json!({
            "name": "vm0", "location": "westeurope", "size": "Standard_B2ts_v2",
            "image": "Canonical:ubuntu-24_04-lts:server:latest", "startup": startup,
            "nic": "nic0", "admin_username": "overcast",
        }))
    }

    fn clients() -> Clients {
        crate::config::load(
            &crate::Settings {
                subscription_id: Some("s".into()),
                arm_endpoint: Some("http://127.0.0.1:9".into()),
                ..crate::Settings::default()
            },
            "g",
            std::path::Path::new("."),
        )
        .expect("clients")
    }

    #[test]
    fn the_body_names_image_disk_nic_and_carries_startup_as_custom_data() {
        let c = clients();
        let i = inputs("#!/bin/sh\necho hi\n");
        let t = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let b = serde_json::to_value(body(&c, &i, "pw", &t).expect("body")).expect("json");
        let p = &b["properties"];
        assert_eq!(p["hardwareProfile"]["vmSize"], "Standard_B2ts_v2");
        assert_eq!(
            p["storageProfile"]["imageReference"],
            json!({"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"})
        );
        assert_eq!(p["storageProfile"]["osDisk"]["deleteOption"], "Delete");
        assert_eq!(p["osProfile"]["adminUsername"], "overcast");
        assert_eq!(p["osProfile"]["adminPassword"], "pw");
        assert_eq!(
            p["osProfile"]["linuxConfiguration"],
            json!({"disablePasswordAuthentication": false, "provisionVMAgent": true})
        );
        assert_eq!(
            p["osProfile"]["customData"],
            BASE64.encode("#!/bin/sh\necho hi\n")
        );
        assert_eq!(
            p["networkProfile"]["networkInterfaces"][0]["id"],
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkInterfaces/nic0"
        );
        assert_eq!(b["tags"]["k"], "v");
        // No script, no customData.
        let i = inputs("");
        let b = serde_json::to_value(body(&c, &i, "pw", &t).expect("body")).expect("json");
        assert!(b["properties"]["osProfile"].get("customData").is_none());
        let mut bad = inputs("");
        bad.insert("image".into(), json!("ubuntu"));
        let e = body(&c, &bad, "pw", &t).unwrap_err();
        assert!(e.message.contains("`ubuntu`"), "{}", e.message);
    }

    #[test]
    fn a_read_keeps_the_password_and_the_script_arm_leaves_out() {
        let mut st = NativeState::new(
            NativeAddr::new("web", "instance[0]"),
            Kind::Compute,
            crate::expand::types::VM,
            "id",
        );
        st.inputs = inputs("echo hi");
        st.outputs.insert("password".into(), json!("pw"));
        let live: VmLive = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm0",
            "name": "vm0", "location": "westeurope",
            "properties": {
                "vmId": "u",
                "hardwareProfile": {"vmSize": "Standard_B2ts_v2"},
                "storageProfile": {
                    "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                                       "sku": "server", "version": "latest", "exactVersion": "1.2.3"},
                    "osDisk": {"deleteOption": "Delete", "managedDisk": {"id": "disk"}}},
                "osProfile": {"computerName": "vm0", "adminUsername": "overcast"},
                "networkProfile": {"networkInterfaces": [{"id": "/x/networkInterfaces/nic0"}]}
            }
        }))
        .expect("a machine");
        let (obs, _) = VirtualMachine::observe(live, &st);
        assert_eq!(obs.inputs, st.inputs);
        assert_eq!(obs.outputs["password"], "pw");
        assert_eq!(obs.outputs["os_disk_delete_option"], "Delete");
    }
}
