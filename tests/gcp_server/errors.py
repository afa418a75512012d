"""Google's JSON error body, as both APIs answer it."""

# HTTP code -> the google.rpc status name Google puts in `error.status`.
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    501: "UNIMPLEMENTED",
}


class ApiError(Exception):
    """An error answered to the client with Google's error body."""

    def __init__(self, code, reason, message, status=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or STATUS.get(code, "UNKNOWN")

    def body(self):
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "errors": [
                    {"message": self.message, "domain": "global", "reason": self.reason}
                ],
            }
        }


def invalid(message):
    return ApiError(400, "invalid", message)


def not_found(message):
    return ApiError(404, "notFound", message)
