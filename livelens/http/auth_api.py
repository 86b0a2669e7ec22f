"""Sign-in, sign-out and the signed-in user's own security settings."""

from __future__ import annotations

from livelens.http import views
from livelens.http.base import SESSION_COOKIE, BaseHandler, field_str
from livelens.http.qr import qr_fields
from livelens.services import auth


class LoginHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        email = field_str(body, "email")
        password = field_str(body, "password")
        otp = field_str(body, "otp", optional=True) or None
        sign_in = await auth.login(self.ctx, email, password, otp, self.client)
        self.set_session_cookie(sign_in)
        principal = sign_in.principal
        self.write_json(
            {
                "user": views.user_brief(principal.user),
                "totp_enrollment_required": principal.totp_enrollment_required,
            }
        )


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        if self.principal is not None:
            await auth.logout(self.ctx, self.principal, self.client_ip)
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.write_json({})


class MeHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json(views.me(self.require_principal(allow_enrollment=True)))


class RevokeOwnSessionsHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_principal()
        revoked = await auth.revoke_own_sessions(self.ctx, principal, self.client_ip)
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.write_json({"revoked": revoked})


class PasswordHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_principal()
        body = self.json_body()
        await auth.change_password(
            self.ctx,
            principal,
            field_str(body, "current_password"),
            field_str(body, "new_password"),
            self.client_ip,
        )
        self.write_json({})


class TotpEnrollHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_principal(allow_enrollment=True)
        secret, uri = await auth.start_totp_enrollment(self.ctx, principal, self.client_ip)
        self.write_json({"secret": secret, "otpauth_uri": uri, **qr_fields(uri)})


class TotpConfirmHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_principal(allow_enrollment=True)
        otp = field_str(self.json_body(), "otp")
        codes = await auth.confirm_totp(self.ctx, principal, otp, self.client_ip)
        self.write_json({"recovery_codes": codes})


class TotpDisableHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_principal()
        password = field_str(self.json_body(), "password")
        await auth.disable_totp(self.ctx, principal, password, self.client_ip)
        self.write_json({})
