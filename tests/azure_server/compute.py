"""Microsoft.Compute 2024-07-01: virtual machines (PUT/GET/PATCH/DELETE, lists, and the
power actions start, powerOff, deallocate, restart, plus GET instanceView).

As the real provider: PUT answers 201 (200 on update) with provisioningState Creating
(Updating) and an Azure-AsyncOperation header; DELETE and the power actions answer 202 with
Azure-AsyncOperation and Location. The NICs of networkProfile must exist, be in the VM's
region and not belong to another VM; once the VM exists each NIC's virtualMachine names it
(so Microsoft.Network refuses to delete the NIC: NicInUse), and deleting the VM detaches
them (or deletes those whose deleteOption is Delete). A platform image must be one of the
catalog's (providers/core/catalog/images.toml, `azure` columns), with version `latest` or
a dotted number; osProfile.adminUsername is held to the disallowed list and a Linux VM
needs a password or SSH keys. The spec's vmSize enum is a frozen, deprecated subset: sizes
are checked by shape (Standard_<family><n>...) instead, as the service takes current ones.

A VM made from an image gets its OS disk, a managed disk (Microsoft.Compute/disks, listed
in its group, managedBy the VM) that GET and DELETE serve; a client cannot PUT one (501).
Deleting the VM deletes the disk when storageProfile.osDisk.deleteOption is Delete and
otherwise leaves it detached (Unattached): what a delete that forgets the option leaves
behind shows in the group's list. An attached disk cannot be deleted (409
OperationNotAllowed).
"""

import copy
import re
import uuid
from pathlib import Path

from .arm import ResourceType, normalize_location
from .errors import ArmError, bad_request, conflict, not_found
from .store import now_iso

NAMESPACE = "Microsoft.Compute"
VM_DOC = "Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json"
IMAGES_TOML = Path(__file__).resolve().parents[2] / "providers" / "core" / "catalog" / "images.toml"

_VM_NAME_BAD = re.compile(r"[\\/\"\[\]:|<>+=;,?*@&\s~!#$%^(){}'`]")
_VM_SIZE = re.compile(r"(Standard|Basic)_[A-Z]{1,3}[0-9]{1,3}(-[0-9]{1,3})?[a-z]*(_v[0-9])?(_Promo)?")
_DISALLOWED_ADMINS = {
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root", "server",
    "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
}
_DISALLOWED_PASSWORDS = {"abc@123", "P@$$w0rd", "P@ssw0rd", "P@ssword123", "Pa$$word", "pass@word1", "Password!",
                         "Password1", "Password22", "iloveyou!"}


def _invalid(message, target=None):
    return ArmError(400, "InvalidParameter", message, target)


def catalog_images(path=IMAGES_TOML):
    """{(publisher, offer, sku) lower} of the catalog's Azure image references."""
    found = set()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return found
    for m in re.finditer(r'^azure\s*=\s*\{\s*publisher\s*=\s*"([^"]+)"\s*,\s*offer\s*=\s*"([^"]+)"\s*,\s*sku\s*=\s*"([^"]+)"', text, re.M):
        found.add(tuple(x.lower() for x in m.groups()))
    return found


class Compute:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.engine = app.engine
        self.images = catalog_images()
        self.vms = ResourceType(
            NAMESPACE, ["virtualMachines"], (VM_DOC, "VirtualMachine"), patch_def=(VM_DOC, "VirtualMachineUpdate"),
            name=self.check_name, put_style="async", delete_style="async", provisioning="Creating",
            validate=self.validate_vm, build=self.build_vm, render=self.render_vm, stored=self.attach,
            check_delete=self.before_delete, open_enums=("properties.hardwareProfile.vmSize",),
            actions={"start": self.power("running", "start"), "powerOff": self.power("stopped", "powerOff"),
                     "deallocate": self.power("deallocated", "deallocate"), "restart": self.power("running", "restart"),
                     "instanceView": self.instance_view},
        )
        self.disks = ResourceType(
            NAMESPACE, ["disks"], None, delete_style="async", provisioning="Creating",
            check_delete=self.check_disk_delete,
        )

    def types(self):
        return [self.vms, self.disks]

    # --- validation ------------------------------------------------------------------------

    def check_name(self, name, rtype):
        if not 1 <= len(name) <= 64 or _VM_NAME_BAD.search(name) or name.startswith("_") or name.endswith((".", "-")):
            raise bad_request(
                "InvalidResourceName",
                f"The resource name '{name}' is invalid: virtual machine names are 1 to 64 characters, cannot contain "
                "special characters \\/\"[]:|<>+=;,?*@&~!#$%^(){}' or whitespace, cannot begin with '_' and cannot "
                "end with '.' or '-'.",
            )

    def validate_vm(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        creating = existing is None
        hw = props.get("hardwareProfile") or {}
        size = hw.get("vmSize")
        if creating and not size:
            raise _invalid("Required parameter 'hardwareProfile.vmSize' is missing (null).", "hardwareProfile.vmSize")
        if size is not None and not _VM_SIZE.fullmatch(size):
            raise _invalid(f"The value {size} provided for the VM size is not valid.", "vmSize")
        storage = props.get("storageProfile") or {}
        os_disk = storage.get("osDisk") or {}
        if creating:
            create = (os_disk.get("createOption") or "FromImage").lower()
            if create == "fromimage":
                ref = storage.get("imageReference")
                if not ref:
                    raise _invalid("Required parameter 'storageProfile.imageReference' is missing (null).", "imageReference")
                self.check_image(ref)
                self.check_os_profile(props.get("osProfile"))
            elif create == "attach":
                if not (os_disk.get("managedDisk") or {}).get("id"):
                    raise _invalid("Required parameter 'osDisk.managedDisk.id' is missing (null).", "osDisk.managedDisk.id")
                if props.get("osProfile"):
                    raise _invalid("Parameter 'osProfile' is not allowed when the OS disk is attached.", "osProfile")
            else:
                raise _invalid(f"The createOption '{os_disk.get('createOption')}' is not valid for the OS disk.", "osDisk.createOption")
        else:
            old = existing["body"]["properties"]
            new_user = (props.get("osProfile") or {}).get("adminUsername")
            old_user = (old.get("osProfile") or {}).get("adminUsername")
            if new_user and old_user and new_user != old_user:
                raise conflict("PropertyChangeNotAllowed", "Changing property 'osProfile.adminUsername' is not allowed.")
        luns = set()
        for disk in storage.get("dataDisks") or []:
            if disk["lun"] in luns:
                raise _invalid(f"The lun {disk['lun']} is used by more than one data disk.", "dataDisks.lun")
            if not 0 <= disk["lun"] <= 63:
                raise _invalid(f"The lun {disk['lun']} is out of range 0-63.", "dataDisks.lun")
            luns.add(disk["lun"])
            if disk["createOption"].lower() == "empty" and not disk.get("diskSizeGB"):
                raise _invalid("Required parameter 'dataDisk.diskSizeGB' is missing (null).", "dataDisks.diskSizeGB")
        nics = (props.get("networkProfile") or {}).get("networkInterfaces")
        if creating and not nics and not (props.get("networkProfile") or {}).get("networkInterfaceConfigurations"):
            raise _invalid("Required parameter 'networkProfile' is missing (null).", "networkProfile")
        if nics is not None:
            vm_id = self.engine.resource_id(ctx, self.vms, [name])
            primaries = sum(1 for n in nics if (n.get("properties") or {}).get("primary"))
            if len(nics) > 1 and primaries != 1:
                raise _invalid("Virtual machine must have exactly one primary network interface when it has more than one.", "networkInterfaces")
            seen = set()
            for ref in nics:
                rid = (ref.get("id") or "").lower()
                if rid in seen:
                    raise _invalid(f"Network interface {ref.get('id')} is referenced twice.", "networkInterfaces")
                seen.add(rid)
                nic = self.engine.find(rid) if rid else None
                if nic is None or nic["rtype"].full_type != "Microsoft.Network/networkInterfaces":
                    raise not_found("NotFound", f"Resource {ref.get('id')} not found.")
                if nic["body"].get("location") != normalize_location(body.get("location") or (existing or {}).get("body", {}).get("location")):
                    raise _invalid(f"The network interface {nic['id']} is in location {nic['body'].get('location')}, not in the VM's.",
                                   "networkInterfaces")
                owner = (nic["body"]["properties"].get("virtualMachine") or {}).get("id")
                if owner and owner.lower() != vm_id.lower():
                    raise bad_request("NicInUse", f"Network Interface {nic['id']} is used by existing resource {owner}.")

    def check_image(self, ref):
        if ref.get("id") or ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"):
            raise ArmError(501, "NotImplemented", "contract server: only platform images (publisher/offer/sku/version) are modelled")
        parts = [ref.get(k) for k in ("publisher", "offer", "sku", "version")]
        if not all(parts):
            raise _invalid("The platform image reference needs publisher, offer, sku and version.", "imageReference")
        version = parts[3]
        if version != "latest" and not re.fullmatch(r"\d+\.\d+\.\d+", version):
            raise _invalid(f"The value '{version}' of parameter 'imageReference.version' is invalid.", "imageReference.version")
        if self.images and tuple(p.lower() for p in parts[:3]) not in self.images:
            raise not_found(
                "PlatformImageNotFound",
                f"The platform image '{':'.join(parts)}' is not available. Verify that all fields in the storage "
                "profile are correct.",
            )

    def check_os_profile(self, profile):
        if not profile:
            raise _invalid("Required parameter 'osProfile' is missing (null).", "osProfile")
        user = profile.get("adminUsername")
        if not user:
            raise _invalid("Required parameter 'osProfile.adminUsername' is missing (null).", "osProfile.adminUsername")
        if user.lower() in _DISALLOWED_ADMINS:
            raise _invalid("The Admin Username specified is not allowed.", "adminUsername")
        if not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,63}", user, re.I):
            raise _invalid(f"The admin username {user} is invalid.", "adminUsername")
        if profile.get("windowsConfiguration"):
            return
        linux = profile.get("linuxConfiguration") or {}
        keys = ((linux.get("ssh") or {}).get("publicKeys") or [])
        password = profile.get("adminPassword")
        if linux.get("disablePasswordAuthentication"):
            if not keys:
                raise _invalid("Authentication using either SSH or by user name and password must be enabled in Linux profile.", "linuxConfiguration")
            if password:
                raise _invalid("Admin password cannot be specified when password authentication is disabled.", "adminPassword")
        elif not password and not keys:
            raise _invalid("Required parameter 'adminPassword' is missing (null).", "adminPassword")
        if password is not None:
            classes = sum(bool(re.search(rx, password)) for rx in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[\W_]"))
            if not 6 <= len(password) <= 72 or classes < 3 or password in _DISALLOWED_PASSWORDS:
                raise _invalid("The supplied password must be between 6-72 characters long and must satisfy at least 3 "
                               "of password complexity requirements from the following: 1) Contains an uppercase "
                               "character 2) Contains a lowercase character 3) Contains a numeric digit 4) Contains a "
                               "special character 5) Control characters are not allowed", "adminPassword")
        for key in keys:
            data = key.get("keyData") or ""
            if not re.match(r"(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+", data):
                raise _invalid("The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.", "keyData")

    # --- the record ------------------------------------------------------------------------

    def build_vm(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        old = existing["body"]["properties"] if existing else {}
        os_profile = props.get("osProfile")
        if os_profile is not None:
            self.password = os_profile.pop("adminPassword", None)
            os_profile.setdefault("computerName", name)
            os_profile.setdefault("allowExtensionOperations", True)
            os_profile.setdefault("secrets", [])
            if not os_profile.get("windowsConfiguration"):
                linux = os_profile.setdefault("linuxConfiguration", {})
                linux.setdefault("disablePasswordAuthentication", False)
                linux.setdefault("provisionVMAgent", True)
        storage = props.setdefault("storageProfile", {})
        ref = storage.get("imageReference")
        if ref and ref.get("version") == "latest":
            ref["exactVersion"] = "1.0.20260101"
        os_disk = storage.setdefault("osDisk", {"createOption": "FromImage"})
        os_disk.setdefault("osType", "Linux")
        os_disk.setdefault("name", f"{name}_OsDisk_1_{uuid.uuid4().hex}")
        os_disk.setdefault("caching", "ReadWrite")
        os_disk.setdefault("deleteOption", "Detach")
        os_disk.setdefault("diskSizeGB", 30)
        md = os_disk.setdefault("managedDisk", {})
        md.setdefault("storageAccountType", "Premium_LRS")
        md.setdefault("id", f"/subscriptions/{ctx.sub}/resourceGroups/{ctx.rg.upper()}/providers/Microsoft.Compute/disks/{os_disk['name']}")
        storage.setdefault("dataDisks", [])
        nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
        for ref_ in nics:
            nic = self.engine.find(ref_["id"])
            ref_["id"] = nic["id"] if nic else ref_["id"]
        props["vmId"] = old.get("vmId") or str(uuid.uuid4())
        props["timeCreated"] = old.get("timeCreated") or now_iso()
        out = {"properties": props, "etag": f'"{len(props)}"'}
        for key in ("tags", "zones", "identity", "plan"):
            value = body.get(key, (existing or {}).get("body", {}).get(key))
            if value is not None:
                out[key] = copy.deepcopy(value)
        return out

    def attach(self, ctx, rec, created):
        if created:
            self.make_os_disk(ctx, rec)
        hidden = rec["hidden"]
        hidden.setdefault("power", "running")
        if getattr(self, "password", None) is not None:
            hidden["password"] = self.password  # write-only
        self.password = None
        wanted = {n["id"].lower() for n in (rec["body"]["properties"].get("networkProfile") or {}).get("networkInterfaces", [])}
        for nic in [r for r in self.store.resources.values() if r["rtype"].full_type == "Microsoft.Network/networkInterfaces"]:
            owner = (nic["body"]["properties"].get("virtualMachine") or {}).get("id", "")
            if nic["id"].lower() in wanted:
                nic["body"]["properties"]["virtualMachine"] = {"id": rec["id"]}
                nic["body"]["properties"]["primary"] = True
            elif owner.lower() == rec["id"].lower():
                nic["body"]["properties"].pop("virtualMachine", None)

    def render_vm(self, rec):
        return copy.deepcopy(rec["body"])

    def before_delete(self, ctx, rec):
        vm_id = rec["id"]
        refs = (rec["body"]["properties"].get("networkProfile") or {}).get("networkInterfaces") or []
        delete = {r["id"].lower() for r in refs if (r.get("properties") or {}).get("deleteOption") == "Delete"}

        os_disk = (rec["body"]["properties"].get("storageProfile") or {}).get("osDisk") or {}

        def release():
            for nic in [r for r in list(self.store.resources.values()) if r["rtype"].full_type == "Microsoft.Network/networkInterfaces"]:
                if (nic["body"]["properties"].get("virtualMachine") or {}).get("id", "").lower() == vm_id.lower():
                    nic["body"]["properties"].pop("virtualMachine", None)
                    if nic["id"].lower() in delete:
                        self.engine.remove(nic)
            disk = self.engine.find((os_disk.get("managedDisk") or {}).get("id") or "")
            if disk is not None and disk["rtype"] is self.disks:
                if (os_disk.get("deleteOption") or "Detach").lower() == "delete":
                    self.engine.remove(disk)
                else:
                    disk["body"].pop("managedBy", None)
                    disk["body"]["properties"]["diskState"] = "Unattached"

        rec["hidden"]["on_removed"] = release

    # --- the OS disk -------------------------------------------------------------------------

    def make_os_disk(self, ctx, vm):
        """The managed disk a VM created from an image gets, at the id its osDisk names."""
        props = vm["body"]["properties"]
        storage = props.get("storageProfile") or {}
        os_disk = storage.get("osDisk") or {}
        md = os_disk.get("managedDisk") or {}
        if (os_disk.get("createOption") or "").lower() != "fromimage" or not md.get("id"):
            return
        name = md["id"].rsplit("/", 1)[-1]
        rid = self.engine.resource_id(ctx, self.disks, [name])
        ref = storage.get("imageReference") or {}
        sku = md.get("storageAccountType") or "Premium_LRS"
        body = {
            "id": rid, "name": name, "type": self.disks.full_type, "location": vm["body"]["location"],
            "managedBy": vm["id"], "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
            "properties": {
                "osType": os_disk.get("osType", "Linux"),
                "creationData": {"createOption": "FromImage", "imageReference": {"id": (
                    f"/Subscriptions/{ctx.sub}/Providers/Microsoft.Compute/Locations/{vm['body']['location']}/Publishers/"
                    f"{ref.get('publisher')}/ArtifactTypes/VMImage/Offers/{ref.get('offer')}/Skus/{ref.get('sku')}/"
                    f"Versions/{ref.get('exactVersion') or ref.get('version')}")}},
                "diskSizeGB": os_disk.get("diskSizeGB", 30), "diskState": "Attached",
                "timeCreated": now_iso(), "provisioningState": "Succeeded",
            },
        }
        self.store.resources[rid.lower()] = self.engine.new_record(ctx, self.disks, rid, body)

    def check_disk_delete(self, ctx, rec):
        owner = rec["body"].get("managedBy")
        if owner:
            raise conflict("OperationNotAllowed", f"Disk {rec['body']['name']} is attached to VM {owner}.")

    # --- actions ---------------------------------------------------------------------------

    def power(self, state, action):
        def act(ctx, rec):
            if ctx.method != "POST":
                raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{ctx.method}'.")
            if self.engine.busy(rec):
                raise conflict("OperationNotAllowed", f"Operation '{action}' is not allowed since another operation is in progress.")
            if action in ("restart", "powerOff") and rec["hidden"].get("power") == "deallocated":
                raise conflict("OperationNotAllowed",
                               f"Operation '{action}' is not allowed on VM '{rec['body']['name']}' since the VM is deallocated.")

            def done():
                rec["hidden"]["power"] = state

            op = self.engine.start(ctx, rec, "action", done, None, result=lambda: None)
            return 202, None, self.engine.lro_headers(ctx, self.vms, rec, op, "async202")

        return act

    def instance_view(self, ctx, rec):
        if ctx.method != "GET":
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{ctx.method}'.")
        if self.engine.busy(rec):
            rec["op"].read()
        power = rec["hidden"].get("power", "running")
        state = rec["body"]["properties"].get("provisioningState", "Succeeded")
        return 200, {
            "computerName": (rec["body"]["properties"].get("osProfile") or {}).get("computerName"),
            "osName": "ubuntu", "osVersion": "24.04",
            "statuses": [
                {"code": f"ProvisioningState/{state.lower()}", "level": "Info", "displayStatus": f"Provisioning {state.lower()}"},
                {"code": f"PowerState/{power}", "level": "Info",
                 "displayStatus": {"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated"}[power]},
            ],
        }, {}
