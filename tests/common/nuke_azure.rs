//! A lab subscription for `nuke` on the ARM contract-test server: a few dozen resources of
//! every type the Azure provider discovers, over four resource groups, created with raw ARM
//! calls (never through overcast), mostly untagged, some tagged `keep=true`, some carrying
//! the owner tags of stack `owned` (target `lab`), with the dependency chains ARM enforces
//! (a machine on its NIC, a NIC on its security group, public IP and network, a network's
//! subnet on a security group, a replica on its primary, an app on its plan, a Front Door
//! profile over a storage account and over a public IP).
//!
//! [`seed_lab`] returns every id by role, so a test can assert exactly what a dry run lists
//! and what a real run deletes.

use std::collections::BTreeMap;

use overcast_core::native::OwnerTags;
use overcast_core::{Provider, ProviderContext};
use serde_json::{Value, json};

use super::arm::{SUBSCRIPTION, call};
use super::servers::Server;

/// Where the lab lives.
pub const LOCATION: &str = "westeurope";
/// The stack whose owner tags some of the lab's resources carry.
pub const OWNED_STACK: &str = "owned";
/// The target of those owner tags.
pub const OWNED_TARGET: &str = "lab";

const RES: &str = "2022-09-01";
const STO: &str = "2023-05-01";
const SB: &str = "2021-11-01";
const PG: &str = "2024-08-01";
const MY: &str = "2023-12-30";
const NET: &str = "2024-05-01";
const VM: &str = "2024-07-01";
const CDN: &str = "2024-09-01";
const WEB: &str = "2024-04-01";

/// The ids of a seeded lab, by role. Every id is an ARM id as the server spells it (the
/// `arn` discovery gives). The lists by tag (`keep`, `owned`, `untagged`) partition `all`.
#[derive(Debug, Clone, Default)]
pub struct AzureLab {
    /// The subscription (also what `account()` answers).
    pub subscription: String,
    /// Every discoverable resource seeded, groups included.
    pub all: Vec<String>,
    /// Those tagged `keep=true` (a group, and resources in groups otherwise emptied).
    pub keep: Vec<String>,
    /// Those with owner tags of stack `owned`, target `lab`.
    pub owned: Vec<String>,
    /// Those with neither (what overcast never created and nothing protects).
    pub untagged: Vec<String>,
    /// The resource groups: `lab-net`, `lab-data`, `lab-web`, `lab-keep` (tagged keep=true),
    /// `lab-owned` (owned).
    pub groups: BTreeMap<String, String>,
    /// Resources that live in a group that is otherwise emptied but are tagged keep=true
    /// (`labdatakeep` in `lab-data`, `labwebkeep` in `lab-web`): their group's delete must
    /// be refused (it would take them along).
    pub keep_in_emptied_group: Vec<String>,
    /// Virtual machines (each on its NIC; OS disks deleted with the machine).
    pub vms: Vec<String>,
    /// Network interfaces (security group `nsg`, a public IP each, subnet of `vnet`).
    pub nics: Vec<String>,
    /// Public IP addresses, one per NIC; the first is also a Front Door origin.
    pub public_ips: Vec<String>,
    /// The security group of the NICs.
    pub nsg: String,
    /// The security group of the network's subnet.
    pub subnet_nsg: String,
    /// The virtual network.
    pub vnet: String,
    /// Storage accounts (the Front Door origin's and the app's included).
    pub storage_accounts: Vec<String>,
    /// Service Bus namespaces (the first holds two queues, which go with it).
    pub servicebus_namespaces: Vec<String>,
    /// The PostgreSQL primary.
    pub postgres_primary: String,
    /// Its read replica.
    pub postgres_replica: String,
    /// A MySQL flexible server.
    pub mysql: String,
    /// Front Door profile over a storage account (`cdn_origin_account`).
    pub cdn_profile: String,
    /// Its endpoint (a tracked child of the profile).
    pub cdn_endpoint: String,
    /// The storage account its origin fetches from.
    pub cdn_origin_account: String,
    /// Front Door profile over the first public IP.
    pub cdn_ip_profile: String,
    /// The function app's plan.
    pub function_plan: String,
    /// The function app (on `function_plan`, storage `function_storage`).
    pub function_app: String,
    /// The account its `AzureWebJobsStorage` names.
    pub function_storage: String,
    /// The edges `link_discovered` must find besides "everything uses its group":
    /// (user, used).
    pub edges: Vec<(String, String)>,
}

/// The Azure provider of a lab target on `server` (`extra` settings merged in: a
/// `resource_group` to scope it, a `blob_endpoint`).
pub fn lab_provider(server: &Server, extra: Value) -> overcast_azure::AzureProvider {
    let mut settings = json!({
        "subscription_id": SUBSCRIPTION,
        "location": LOCATION,
        "arm_endpoint": server.endpoint,
    });
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    overcast_azure::AzureProvider::new(ProviderContext {
        stack: OWNED_STACK.into(),
        target: OWNED_TARGET.into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: ".".into(),
        work_dir: ".".into(),
    })
    .expect("the lab's provider")
}

/// How a seeded resource is tagged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    None,
    Keep,
    Owned,
}

struct Seeder<'a> {
    server: &'a Server,
    /// Whose `owner_labels` tag the owned resources.
    provider: overcast_azure::AzureProvider,
    lab: AzureLab,
}

impl Seeder<'_> {
    fn tags(&self, tag: Tag, local: &str) -> Value {
        let mut t: BTreeMap<String, String> = BTreeMap::new();
        t.insert("lab".into(), "nuke".into());
        match tag {
            Tag::None => {}
            Tag::Keep => {
                t.insert("keep".into(), "true".into());
            }
            Tag::Owned => t.extend(self.provider.owner_labels(&OwnerTags {
                stack: OWNED_STACK.into(),
                target: OWNED_TARGET.into(),
                resource: local.into(),
            })),
        }
        json!(t)
    }

    fn record(&mut self, id: &str, tag: Tag) {
        self.lab.all.push(id.to_string());
        match tag {
            Tag::None => self.lab.untagged.push(id.to_string()),
            Tag::Keep => self.lab.keep.push(id.to_string()),
            Tag::Owned => self.lab.owned.push(id.to_string()),
        }
    }

    /// PUT a resource (accepted: 200, 201 or 202) and return its id.
    fn put(&self, path: &str, api: &str, body: Value) -> String {
        let (status, answer) = call(
            self.server,
            "PUT",
            &format!("{path}?api-version={api}"),
            Some(&body),
        );
        assert!(
            (200..=202).contains(&status),
            "seeding PUT {path}: {status} {answer}"
        );
        path.to_string()
    }

    /// Finish every running operation (time passes).
    fn settle(&self) {
        let (status, _) = call(self.server, "POST", "/__contract/settle", None);
        assert_eq!(status, 200, "settle");
    }

    fn group(&mut self, name: &str, tag: Tag) -> String {
        let id = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}");
        let tags = self.tags(tag, "@lab.group");
        self.put(&id, RES, json!({"location": LOCATION, "tags": tags}));
        self.record(&id, tag);
        self.lab.groups.insert(name.to_string(), id.clone());
        id
    }

    fn resource(
        &mut self,
        group: &str,
        path: &str,
        api: &str,
        mut body: Value,
        tag: Tag,
    ) -> String {
        let id = format!("{group}/providers/{path}");
        let local = format!("lab.{}", path.rsplit('/').next().unwrap_or_default());
        body["tags"] = self.tags(tag, &local);
        self.put(&id, api, body);
        self.record(&id, tag);
        id
    }

    fn account(&mut self, group: &str, name: &str, tag: Tag) -> String {
        let id = self.resource(
            group,
            &format!("Microsoft.Storage/storageAccounts/{name}"),
            STO,
            json!({"location": LOCATION, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}),
            tag,
        );
        self.lab.storage_accounts.push(id.clone());
        id
    }
}

/// Seed the lab on `server` (an empty contract server, or one whose other resources the
/// test tells apart). About 40 discoverable resources; see [`AzureLab`].
pub fn seed_lab(server: &Server) -> AzureLab {
    let mut s = Seeder {
        server,
        provider: lab_provider(server, json!({})),
        lab: AzureLab {
            subscription: SUBSCRIPTION.to_string(),
            ..AzureLab::default()
        },
    };
    let net = s.group("lab-net", Tag::None);
    let data = s.group("lab-data", Tag::None);
    let web = s.group("lab-web", Tag::None);
    let keep = s.group("lab-keep", Tag::Keep);
    let owned = s.group("lab-owned", Tag::Owned);

    // --- the network chain: VM -> NIC -> (NSG, public IP, VNet -> subnet NSG) -------------
    let rule = json!({"name": "ssh", "properties": {"protocol": "Tcp", "access": "Allow",
        "direction": "Inbound", "priority": 100, "sourcePortRange": "*", "destinationPortRange": "22",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*"}});
    let nsg = s.resource(
        &net,
        "Microsoft.Network/networkSecurityGroups/lab-nsg",
        NET,
        json!({"location": LOCATION, "properties": {"securityRules": [rule]}}),
        Tag::None,
    );
    let subnet_nsg = s.resource(
        &net,
        "Microsoft.Network/networkSecurityGroups/lab-subnet-nsg",
        NET,
        json!({"location": LOCATION, "properties": {"securityRules": []}}),
        Tag::None,
    );
    s.settle();
    let vnet = s.resource(
        &net,
        "Microsoft.Network/virtualNetworks/lab-vnet",
        NET,
        json!({"location": LOCATION, "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24",
                "networkSecurityGroup": {"id": subnet_nsg}}}]}}),
        Tag::None,
    );
    s.settle();
    s.lab.edges.push((vnet.clone(), subnet_nsg.clone()));
    for i in 0..2 {
        let pip = s.resource(
            &net,
            &format!("Microsoft.Network/publicIPAddresses/lab-pip-{i}"),
            NET,
            json!({"location": LOCATION, "sku": {"name": "Standard"},
                "properties": {"publicIPAllocationMethod": "Static"}}),
            Tag::None,
        );
        s.settle();
        let nic = s.resource(
            &net,
            &format!("Microsoft.Network/networkInterfaces/lab-nic-{i}"),
            NET,
            json!({"location": LOCATION, "properties": {
                "networkSecurityGroup": {"id": nsg},
                "ipConfigurations": [{"name": "ipconfig1", "properties": {
                    "subnet": {"id": format!("{vnet}/subnets/default")},
                    "publicIPAddress": {"id": pip}}}]}}),
            Tag::None,
        );
        s.settle();
        let vm = s.resource(
            &net,
            &format!("Microsoft.Compute/virtualMachines/lab-vm-{i}"),
            VM,
            json!({"location": LOCATION, "properties": {
                "hardwareProfile": {"vmSize": "Standard_B2s_v2"},
                "storageProfile": {
                    "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                        "sku": "server", "version": "latest"},
                    "osDisk": {"createOption": "FromImage", "deleteOption": "Delete",
                        "managedDisk": {"storageAccountType": "StandardSSD_LRS"}}},
                "osProfile": {"computerName": format!("lab-vm-{i}"), "adminUsername": "labadmin",
                    "linuxConfiguration": {"disablePasswordAuthentication": true, "ssh": {"publicKeys": [
                        {"path": "/home/labadmin/.ssh/authorized_keys",
                         "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIexample"}]}}},
                "networkProfile": {"networkInterfaces": [{"id": nic, "properties": {"primary": true}}]}}}),
            Tag::None,
        );
        s.settle();
        s.lab.edges.extend([
            (vm.clone(), nic.clone()),
            (nic.clone(), nsg.clone()),
            (nic.clone(), pip.clone()),
            (nic.clone(), vnet.clone()),
        ]);
        s.lab.public_ips.push(pip);
        s.lab.nics.push(nic);
        s.lab.vms.push(vm);
    }
    s.lab.nsg = nsg;
    s.lab.subnet_nsg = subnet_nsg;
    s.lab.vnet = vnet;

    // --- data: storage accounts, Service Bus, databases -------------------------------------
    for i in 0..3 {
        s.account(&data, &format!("labdata{i}"), Tag::None);
    }
    let keep_in_data = s.account(&data, "labdatakeep", Tag::Keep);
    s.lab.keep_in_emptied_group.push(keep_in_data);
    for i in 0..2 {
        let ns = s.resource(
            &data,
            &format!("Microsoft.ServiceBus/namespaces/lab-bus-{i}"),
            SB,
            json!({"location": LOCATION, "sku": {"name": "Standard"}}),
            Tag::None,
        );
        s.lab.servicebus_namespaces.push(ns);
    }
    let server_body = |version: &str| {
        json!({"location": LOCATION, "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
            "properties": {"administratorLogin": "labadmin", "administratorLoginPassword": "S3cret-pass!",
                "version": version, "storage": {"storageSizeGB": 32}}})
    };
    let primary = s.resource(
        &data,
        "Microsoft.DBforPostgreSQL/flexibleServers/lab-pg",
        PG,
        server_body("16"),
        Tag::None,
    );
    let mysql = s.resource(
        &data,
        "Microsoft.DBforMySQL/flexibleServers/lab-mysql",
        MY,
        server_body("8.0.21"),
        Tag::None,
    );
    s.settle();
    for q in ["orders", "events"] {
        let ns = &s.lab.servicebus_namespaces[0];
        s.put(
            &format!("{ns}/queues/{q}"),
            SB,
            json!({"properties": {"maxDeliveryCount": 5}}),
        );
    }
    let replica = s.resource(
        &data,
        "Microsoft.DBforPostgreSQL/flexibleServers/lab-pg-replica",
        PG,
        json!({"location": LOCATION, "properties": {"createMode": "Replica",
            "sourceServerResourceId": primary}}),
        Tag::None,
    );
    s.settle();
    s.lab.edges.push((replica.clone(), primary.clone()));
    s.lab.postgres_primary = primary;
    s.lab.postgres_replica = replica;
    s.lab.mysql = mysql;

    // --- web: Front Door over a storage account and over a public IP, a function app -------
    let origin_account = s.account(&web, "labsite", Tag::None);
    let fn_storage = s.account(&web, "labfnstore", Tag::None);
    let keep_in_web = s.account(&web, "labwebkeep", Tag::Keep);
    s.lab.keep_in_emptied_group.push(keep_in_web);
    s.settle();
    let profile = front_door(&mut s, &web, "lab-fd", "labsite.blob.core.windows.net");
    let ip = {
        let (_, pip) = call(
            server,
            "GET",
            &format!("{}?api-version={NET}", s.lab.public_ips[0]),
            None,
        );
        pip["properties"]["ipAddress"]
            .as_str()
            .expect("the public IP's address")
            .to_string()
    };
    let ip_profile = front_door(&mut s, &web, "lab-fd-vm", &ip);
    s.lab.edges.push((profile.clone(), origin_account.clone()));
    s.lab
        .edges
        .push((ip_profile.clone(), s.lab.public_ips[0].clone()));
    let plan = s.resource(
        &web,
        "Microsoft.Web/serverfarms/lab-plan",
        WEB,
        json!({"location": LOCATION, "kind": "functionapp", "sku": {"name": "Y1", "tier": "Dynamic"},
            "properties": {"reserved": true}}),
        Tag::None,
    );
    let app = s.resource(
        &web,
        "Microsoft.Web/sites/lab-fn",
        WEB,
        json!({"location": LOCATION, "kind": "functionapp,linux", "properties": {
            "serverFarmId": plan, "reserved": true, "httpsOnly": true,
            "siteConfig": {"linuxFxVersion": "Python|3.12", "appSettings": [
                {"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"},
                {"name": "AzureWebJobsStorage",
                 "value": "DefaultEndpointsProtocol=https;AccountName=labfnstore;AccountKey=a2V5;EndpointSuffix=core.windows.net"}]}}}),
        Tag::None,
    );
    s.settle();
    s.lab.edges.push((app.clone(), plan.clone()));
    s.lab.edges.push((app.clone(), fn_storage.clone()));
    s.lab.cdn_origin_account = origin_account;
    s.lab.function_plan = plan;
    s.lab.function_app = app;
    s.lab.function_storage = fn_storage;

    // --- a protected group (its content is not protected) and an owned stack -------------
    s.account(&keep, "labkeptgroupacct", Tag::None);
    s.account(&owned, "labowned0", Tag::Owned);
    s.account(&owned, "labowned1", Tag::Owned);
    s.resource(
        &owned,
        "Microsoft.ServiceBus/namespaces/lab-owned-bus",
        SB,
        json!({"location": LOCATION, "sku": {"name": "Standard"}}),
        Tag::Owned,
    );
    s.settle();
    s.lab
}

/// A Front Door profile with an endpoint, an origin group and one origin at `host`; the
/// profile's id (its endpoint is recorded in the lab).
fn front_door(s: &mut Seeder<'_>, group: &str, name: &str, host: &str) -> String {
    let profile = s.resource(
        group,
        &format!("Microsoft.Cdn/profiles/{name}"),
        CDN,
        json!({"location": "global", "sku": {"name": "Standard_AzureFrontDoor"}}),
        Tag::None,
    );
    s.settle();
    let endpoint = s.resource(
        group,
        &format!("Microsoft.Cdn/profiles/{name}/afdEndpoints/{name}-edge"),
        CDN,
        json!({"location": "global", "properties": {"enabledState": "Enabled"}}),
        Tag::None,
    );
    s.put(
        &format!("{profile}/originGroups/og"),
        CDN,
        json!({"properties": {
            "loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3},
            "healthProbeSettings": {"probePath": "/", "probeProtocol": "Https",
                "probeRequestType": "HEAD", "probeIntervalInSeconds": 100}}}),
    );
    s.settle();
    s.put(
        &format!("{profile}/originGroups/og/origins/origin"),
        CDN,
        json!({"properties": {"hostName": host, "originHostHeader": host}}),
    );
    s.settle();
    s.lab.edges.push((endpoint.clone(), profile.clone()));
    if name == "lab-fd" {
        s.lab.cdn_profile = profile.clone();
        s.lab.cdn_endpoint = endpoint;
    } else {
        s.lab.cdn_ip_profile = profile.clone();
    }
    profile
}
