//! A compute resource's abstract outputs from its natives, and a machine seen as the
//! abstract compute resource it belongs to.

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Attrs, Kind, NativeState};
use serde_json::{Value, json};

use super::expand::catalog_image_of;
use crate::expand::types;

/// The instance index of a local name such as `instance[2]` (`prefix` `instance`).
fn index_of(local: &str, prefix: &str) -> Option<u64> {
    local
        .strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The outputs of a compute resource: the first machine's id and name, each instance's
/// address (its public IP, or its NIC's private address when the resource opens no
/// ports), and the URL of the first port on the first instance.
pub fn outputs(natives: &[&NativeState]) -> Attrs {
    let mut instances: Vec<(u64, &NativeState)> = natives
        .iter()
        .filter(|n| !n.id.is_empty())
        .filter_map(|n| Some((index_of(&n.addr.local, "instance")?, *n)))
        .collect();
    instances.sort_by_key(|(i, _)| *i);
    let mut out = Attrs::new();
    let Some((first_index, first)) = instances.first() else {
        return out;
    };
    let output = |prefix: &str, i: u64, key: &str| {
        natives
            .iter()
            .find(|n| !n.id.is_empty() && index_of(&n.addr.local, prefix) == Some(i))
            .and_then(|n| n.outputs.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let address = |i: u64| {
        output("ip", i, "address")
            .or_else(|| output("nic", i, "private_address"))
            .unwrap_or_default()
    };
    out.insert("id".into(), json!(first.id));
    if let Some(name) = first.outputs.get("name") {
        out.insert("name".into(), name.clone());
    }
    let first_address = address(*first_index);
    out.insert("address".into(), json!(first_address));
    let all: Vec<String> = instances.iter().map(|(i, _)| address(*i)).collect();
    out.insert("addresses".into(), json!(all.join(",")));
    let port = natives
        .iter()
        .find(|n| n.addr.local == "nsg")
        .and_then(|n| n.inputs.get("ports")?.as_array()?.first()?.as_u64());
    if let Some(port) = port
        && !first_address.is_empty()
    {
        out.insert(
            "url".into(),
            json!(format!("http://{first_address}:{port}/")),
        );
    }
    out
}

/// The abstract view of the first machine of a compute resource (the others, and the
/// network natives, are parts of the same resource).
pub fn to_abstract(state: &NativeState) -> Option<AbstractView> {
    if state.type_name != types::VM || index_of(&state.addr.local, "instance").unwrap_or(0) != 0 {
        return None;
    }
    let i = &state.inputs;
    let mut props = serde_json::Map::new();
    let mut approximations = Vec::new();
    if let Some(size) = i.get("size").and_then(Value::as_str) {
        match catalog().size_of_machine(Cloud::Azure, size) {
            Some(near) => {
                props.insert(
                    "size".into(),
                    serde_json::to_value(near.value).unwrap_or(Value::Null),
                );
                if !near.fidelity.is_exact() {
                    approximations.push((
                        "size".to_string(),
                        format!("machine size `{size}`: {}", near.fidelity),
                    ));
                }
            }
            None => approximations.push((
                "size".to_string(),
                format!("machine size `{size}` is not in the catalog: the default size is used"),
            )),
        }
    }
    if let Some(image) = i.get("image").and_then(Value::as_str) {
        let name = catalog_image_of(image).unwrap_or(image);
        props.insert("image".into(), json!(name));
    }
    if let Some(s) = i
        .get("startup")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        props.insert("startup".into(), json!(s));
    }
    approximations.push((
        "count".to_string(),
        "each machine is seen alone: set `count` to the number of machines".to_string(),
    ));
    approximations.push((
        "ports".to_string(),
        "the ports are the inbound rules of the resource's network security group: list them again"
            .to_string(),
    ));
    Some(AbstractView {
        kind: Kind::Compute,
        properties: props,
        approximations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::NativeAddr;

    fn native(local: &str, ty: &str, inputs: Value, outputs: Value) -> NativeState {
        let mut st = NativeState::new(NativeAddr::new("web", local), Kind::Compute, ty, local);
        st.inputs = crate::expand::attrs(inputs);
        st.outputs = crate::expand::attrs(outputs);
        st
    }

    #[test]
    fn addresses_are_public_ips_else_private_ones_and_the_url_is_the_first_port() {
        let n = [
            native("nsg", types::NSG, json!({"ports": [80, 443]}), json!({})),
            native(
                "ip[0]",
                types::PUBLIC_IP,
                json!({}),
                json!({"address": "20.1.2.3"}),
            ),
            native(
                "nic[0]",
                types::NIC,
                json!({}),
                json!({"private_address": "10.0.0.4"}),
            ),
            native("instance[0]", types::VM, json!({}), json!({"name": "vm0"})),
            native(
                "nic[1]",
                types::NIC,
                json!({}),
                json!({"private_address": "10.0.0.5"}),
            ),
            native("instance[1]", types::VM, json!({}), json!({"name": "vm1"})),
        ];
        let refs: Vec<&NativeState> = n.iter().collect();
        let out = outputs(&refs);
        assert_eq!(out["id"], "instance[0]");
        assert_eq!(out["name"], "vm0");
        assert_eq!(out["address"], "20.1.2.3");
        assert_eq!(out["addresses"], "20.1.2.3,10.0.0.5");
        assert_eq!(out["url"], "http://20.1.2.3:80/");
        assert!(outputs(&refs[..3]).is_empty(), "no machine yet, no outputs");
    }

    #[test]
    fn the_first_machine_maps_back_with_its_catalog_size_and_image() {
        let vm = native(
            "instance[0]",
            types::VM,
            json!({"size": "Standard_B2ls_v2", "image": "Canonical:ubuntu-24_04-lts:server:latest",
                   "startup": "echo hi"}),
            json!({}),
        );
        let v = to_abstract(&vm).expect("a view");
        assert_eq!(v.kind, Kind::Compute);
        assert_eq!(v.properties["size"], "medium");
        assert_eq!(v.properties["image"], "ubuntu-24.04");
        assert_eq!(v.properties["startup"], "echo hi");
        let second = native("instance[1]", types::VM, json!({}), json!({}));
        assert!(to_abstract(&second).is_none());
        let nic = native("nic[0]", types::NIC, json!({}), json!({}));
        assert!(to_abstract(&nic).is_none());
    }
}
