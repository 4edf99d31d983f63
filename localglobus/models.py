"""Auth-side tables of localglobus: identities, clients, codes, tokens, consents.

Transfer-side tables live in `localglobus/transfer/models.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from localglobus.db import Base, new_id, utcnow


class Identity(Base):
    """A local user. `id` is the Globus identity id (`sub`); `username` is how they sign in."""

    __tablename__ = "identities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    organization: Mapped[str] = mapped_column(String(255), default="localglobus")
    # argon2 hash; None for the identity of a confidential client (client-identity mode).
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The last sign-in, reported as `last_authentication` in id_tokens and userinfo.
    last_authentication: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Linked identities (Globus's identity set): every identity of a set but its primary
    # names the primary here. Signing in as any of them signs in the set; tokens carry the
    # primary as `sub` and the whole set as `identity_set`.
    primary_id: Mapped[str | None] = mapped_column(
        ForeignKey("identities.id"), nullable=True, index=True
    )
    # The TOTP secret of the identity's second factor (base32; `localglobus demo` prints
    # the demo users'). Kept readable: verifying a code needs it.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def is_client(self) -> bool:
        return self.password_hash is None and self.username.endswith("@clients.auth.globus.org")

    def __repr__(self) -> str:
        return f"<Identity {self.username} {self.id}>"


class AuthSession(Base):
    """A browser's Globus Auth session. The cookie holds only a secret naming it, so
    signing out ends it for every copy of the cookie; tokens issued in it report its
    sign-ins (`session_info`), which high-assurance collections check."""

    __tablename__ = "auth_sessions"

    # The `session_id` Globus reports; never in a cookie (the secret is).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # {identity id: {"auth_time": unix seconds, "mfa": bool}}, one per identity of the set
    # that signed in during the session.
    authentications: Mapped[dict] = mapped_column(JSON, default=dict)


class Client(Base):
    """A registered OAuth2 client. Confidential clients also act as an identity of their own
    (client-identity mode, as on Globus: the identity id equals the client id)."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    # "confidential" or "native"
    client_type: Mapped[str] = mapped_column(String(20), default="confidential")
    secret_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    # Set for clients made from a template (globus-cli's per-install client,
    # docs/globus-api.md A.11): like native apps, they may use the auth-code page and any
    # loopback port.
    template_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def is_confidential(self) -> bool:
        return self.client_type == "confidential"

    def __repr__(self) -> str:
        return f"<Client {self.name} {self.id} {self.client_type}>"


class AuthorizationCode(Base):
    """A one-time code; the token request has no `scope`, so the code remembers it."""

    __tablename__ = "authorization_codes"

    # SHA-256 digest of the code: like tokens, the code itself is never stored.
    code: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Echoed in the token response, as Globus does (docs/globus-api.md A.2).
    state: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    access_type: Mapped[str] = mapped_column(String(10), default="online")
    # The Auth session the person consented in; the tokens of the code belong to it.
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    auth_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)

    # authlib's AuthorizationCodeMixin, for the standard checks of its code grant.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class Token(Base):
    """One access token (and its refresh token) for one resource server.

    Only SHA-256 digests of the token strings are stored: a copy of the state file
    gives nobody a usable token.
    """

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    access_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    refresh_digest: Mapped[str | None] = mapped_column(
        String(64), unique=True, index=True, nullable=True
    )
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    identity_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_server: Mapped[str] = mapped_column(String(255))
    # Space-separated plain scope strings (dependencies stripped), as Globus reports them.
    scope: Mapped[str] = mapped_column(Text)
    # The dependent scopes approved under this token's scopes (serialized scope forest);
    # the dependent-token grant issues tokens for exactly these.
    dependent_scope: Mapped[str] = mapped_column(Text, default="")
    # Digest of the authorization code the token came from: replaying the code revokes it.
    code_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # The Auth session of the sign-in the token came from (None: client credentials).
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Token {self.resource_server} identity={self.identity_id}>"


class Consent(Base):
    """A scope an identity granted a client, including dependent scopes such as a
    collection's data_access. Globus records consents per (identity, client): a token the
    client already holds carries a consent granted later.

    Consents form a forest: `path` is the scope strings from the root consent down to this
    one, space-separated (scope strings have no spaces), e.g. `<transfer:all> <data_access>`.
    """

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("identity_id", "client_id", "path"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuthPolicy(Base):
    """A Globus Auth policy (`/v2/api/policies`): what a session must hold to satisfy it.

    GCSv5 high-assurance storage gateways and collections name one; Transfer then refuses
    with `session_required_policies` until the session satisfies it (docs/globus-api.md B.14).
    """

    __tablename__ = "auth_policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(36), default="")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    high_assurance: Mapped[bool] = mapped_column(Boolean, default=False)
    # Seconds within which an identity must have signed in (high-assurance policies).
    authentication_assurance_timeout: Mapped[int | None] = mapped_column(Integer, nullable=True)
    required_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    domain_constraints_include: Mapped[list | None] = mapped_column(JSON, nullable=True)
    domain_constraints_exclude: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # Who made it (projects are not modelled: the policies API shows one its own).
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
