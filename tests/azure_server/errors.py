"""ARM's error body: {"error": {"code", "message"}} with the HTTP status of the failure."""


class ArmError(Exception):
    """An error answered to the client with ARM's error body."""

    def __init__(self, status, code, message, target=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def bad_request(code, message, target=None):
    return ArmError(400, code, message, target)


def invalid_content(message, target=None):
    """A body the deserializer or the schema rejects (what ARM and most providers answer
    for JSON that does not fit the resource's model)."""
    return ArmError(
        400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: '{message}'.", target
    )


def not_found(code, message):
    return ArmError(404, code, message)


def conflict(code, message):
    return ArmError(409, code, message)


def resource_not_found(rtype, name, rg):
    return not_found(
        "ResourceNotFound",
        f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def group_not_found(rg):
    return not_found("ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def not_implemented(message):
    return ArmError(501, "NotImplemented", f"contract server: {message}")
