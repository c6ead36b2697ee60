"""Errors the server answers with: ``{"error": <code>, "detail": <text>}`` and a status."""

from __future__ import annotations

from sync import protocol

# 409 at enrolment: the device id is already enrolled under another dealer.
ERROR_DEVICE_TAKEN = "device_taken"


class ApiError(Exception):
    """An answer other than success, raised anywhere below the routes and rendered once."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        # More keys for the body, e.g. the new epoch of a 409 epoch_changed.
        self.extra = extra or {}

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail, **self.extra}


def bad_request(detail: str) -> ApiError:
    return ApiError(400, protocol.ERROR_BAD_REQUEST, detail)


def too_large(detail: str) -> ApiError:
    return ApiError(413, protocol.ERROR_TOO_LARGE, detail)


def unauthorized(detail: str) -> ApiError:
    headers = {"WWW-Authenticate": "Bearer"}
    return ApiError(401, protocol.ERROR_UNAUTHORIZED, detail, headers=headers)


def epoch_changed(epoch: str, epoch_base_seq: int) -> ApiError:
    return ApiError(
        409,
        protocol.ERROR_EPOCH_CHANGED,
        "the server's history changed (restored from a backup): re-sync from epoch_base_seq",
        extra={"epoch": epoch, "epoch_base_seq": epoch_base_seq},
    )
