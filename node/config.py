"""Node settings: environment (``LABELNET_*``), an optional TOML file, then defaults.

Settings are built by the app factory or the CLI, never at import time, so tests and
several nodes in one process each get their own.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from node.errors import LabelnetError
from node.peer_url import gateway_url, parse_peer

Role = Literal["annotator", "validator", "requester", "gateway"]
StoreBackend = Literal["embedded", "kubo"]
Durability = Literal["process", "power"]


class SettingsFileError(LabelnetError, ValueError):
    """A file the settings name is unusable: the settings file is not TOML (pydantic-settings
    lets the parser's own error through), or it or the password file is not UTF-8; each was
    a traceback from ``labelnet node start``."""


class NodeSettings(BaseSettings):
    """Everything a node process needs to know to run."""

    model_config = SettingsConfigDict(env_prefix="LABELNET_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".labelnet")
    role: Role = "annotator"
    host: str = "127.0.0.1"
    port: int = Field(default=7420, ge=0, le=65535)
    public_url: str | None = None
    """The gateway URL announced to peers; defaults to http://host:port."""

    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int | None = None
    """If set, the node refuses to run against an RPC that reports another chain id."""
    deployment_file: Path | None = None
    """JSON with the token, staking and market addresses (written by ``labelnet devnet up``)."""
    confirmations: int = Field(default=0, ge=0)
    sync_interval: float = Field(default=1.0, gt=0)
    sync_start_block: int = Field(default=0, ge=0)
    """First block the event sync reads (the deployment block saves scanning older ones)."""
    reorg_depth: int = Field(default=64, ge=1)
    finality_depth: int = Field(default=64, ge=0)
    """Blocks under the head before a seated task's seal block is trusted to seed its deal
    (docs/settlement.md §1.3); small on dev chains, where nobody reorganises."""
    max_sync_lag: int = Field(default=16, ge=0)
    """Blocks the sync may trail the confirmed head before ``/readyz`` reports not ready."""
    rpc_timeout: float = Field(default=10.0, gt=0)
    """Seconds one JSON-RPC request may take (readiness probes use at most 2 s)."""
    duty_interval: float = Field(default=2.0, gt=0)
    """Seconds between two runs of each role duty's ``tick``."""

    database_url: str | None = None
    """SQLAlchemy URL; default: SQLite (WAL) at ``data_dir/node.db``."""
    db_durability: Durability = "process"
    """SQLite only: ``process`` survives the node being killed, ``power`` also an OS crash
    (an fsync per commit); see :mod:`node.db.engine`."""

    keystore: Path | None = None
    """Encrypted V3 keystore of the node's account; default ``data_dir/keystore.json``."""
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None

    store: StoreBackend = "embedded"
    kubo_api: str = "/ip4/127.0.0.1/tcp/5001/http"
    peers: tuple[str, ...] = ()
    """Gateway URLs of other nodes to fetch content from (more are found on chain)."""

    # --- peers
    allow_private_peers: bool = False
    """Fetch from discovered peers (announced on chain) whose host is, or resolves to, a
    loopback, private, link-local or other non-public address. Off: an announcement could
    otherwise aim every node's requests into its own network (SSRF). Turn it on for devnets
    and tests, where all nodes run on 127.0.0.1. The ``peers`` above are the operator's own
    choice and may always be private."""
    peer_timeout: float = Field(default=10.0, gt=0)
    """Seconds a peer gets to deliver one block (2 s once it has timed out or failed)."""
    peer_ban_seconds: float = Field(default=600.0, ge=0)
    """Seconds a peer that served bytes not matching their CID is not asked."""

    # ---------------------------------------------------------------- annotator
    labeler: str | None = None
    """A labeling program to hand items to instead of a person (see :mod:`node.labelers`):
    ``replay:<answers.csv>:<worker>``, ``random[:<seed>]``, ``py:<module>:<function>`` or
    ``cmd:<command line>``. Unset: items wait for the labeling page."""
    labeler_batch: int = Field(default=200, ge=1, le=10_000)
    """Items handed to the labeling program per call."""
    max_bond: int | None = Field(default=None, ge=0)
    """Join only tasks whose annotator bond is at most this (token units); None: any."""
    max_task_media_bytes: int = Field(default=1024 * 1024 * 1024, ge=0)
    """Most bytes of media one task may make this node fetch and store."""
    min_reward_per_mib: int = Field(default=10**12, ge=0)
    """Token units of reward pool a task must escrow per MiB of media for this node to store
    them (0: no such limit)."""
    auto_claim: bool = True
    """Claim payouts (annotators) as soon as a task is final (a gated task's after giving its
    requester's relay :data:`~node.roles.claim_relay.CLAIM_GRACE` seconds to pay them)."""
    relay: bool = True
    """Gated tasks' relays (docs/qualification.md, "Relays"): a requester node seats the
    signed seat claims of its gated tasks in one ``claimSeats`` and pays their leaves in one
    ``claimFor``; an annotator node offers its signed seat claim to the task's requester node
    instead of sending ``claimSeat`` (falling back to it). Off: each claims its own."""
    liveness: bool = True
    """Settle the tasks this annotator revealed in when no validator does
    (docs/settlement.md §2.5, :mod:`node.roles.liveness`): move their settlement rounds on
    with ``finalize``, and vote the task's result in round 2 if the account has ``minStake``
    staked in ValidatorStaking. The node never stakes by itself: without stake it says so once
    and only moves the rounds on."""
    commit_grace: float = Field(default=60.0, ge=0)
    """Seconds a fully labelled task waits after its last label change before the node
    commits it, so a person can still correct their last answers (a labeling program that
    has gone through every item commits at once)."""

    # ---------------------------------------------------------------- validator
    finalize_early: bool = True
    """Finalize a task as soon as the contract allows (a 2/3 supermajority of all stake
    agrees), not only after the attest deadline."""
    review: bool = False
    """Validators: review the contested items of reviewed tasks (docs/review.md), staking a
    bond per task on the ReviewBoard. The votes come from the review page, or from
    ``review_program`` if set."""
    review_program: str | None = None
    """A review program to vote instead of a person (:mod:`node.labelers.review`):
    ``consensus``, ``gold:<gold.csv>:<accuracy>[:<seed>]`` or ``random[:<seed>]``."""
    adversary: Literal["none", "wrong-root"] = "none"
    """Fault injection for demos and adversary tests: ``wrong-root`` makes a validator attest
    a corrupted payout root. Never set it on a real node: the stake it locks is slashed."""

    # --- API hardening (security issue #13; see node/api/hosts.py and node/api/server.py)
    allowed_hosts: tuple[str, ...] = ()
    """Extra host names the API and the labeling page answer to (a reverse proxy's name);
    the bind address, loopback names on a loopback bind and ``public_url``'s host always
    count. Other ``Host`` headers get 421, so a DNS-rebinding page cannot reach the API."""
    http_header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a client may take to send a request's line and headers; then it is cut off."""
    http_body_timeout: float = Field(default=60.0, gt=0)
    """Seconds a client may take to send a request's body once its headers are in."""
    http_max_connections: int = Field(default=1000, ge=1)
    """Open HTTP connections served at once; one more is answered 503 and closed. Capped
    below the process's file-descriptor limit at start (the database and peers need some)."""
    disk_reserve_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    """Free space the data directory must keep: below it ``/readyz`` reports not ready."""

    @field_validator("data_dir", "deployment_file", "keystore", "keystore_password_file")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("peers")
    @classmethod
    def _peer_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            parse_peer(url, private_ok=True)  # PeerUrlError is a ValueError: a setting error
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_peer(value, private_ok=True)  # peers would refuse anything else
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments beat the environment, which beats the TOML file (if any).
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'node.db'}"

    @property
    def keystore_path(self) -> Path:
        return self.keystore or self.data_dir / "keystore.json"

    @property
    def gateway_url(self) -> str:
        return self.public_url or gateway_url(self.host, self.port)

    def password(self) -> str | None:
        """The keystore password from the setting or its file, if either is given."""
        if self.keystore_password is not None:
            return self.keystore_password.get_secret_value()
        if self.keystore_password_file is not None:
            try:
                return self.keystore_password_file.read_text().rstrip("\n")
            except UnicodeDecodeError as exc:  # else a traceback from `labelnet node start`
                raise SettingsFileError(
                    f"keystore_password_file {self.keystore_password_file} is not UTF-8 text: "
                    f"{exc.reason} at byte {exc.start}"
                ) from exc
        return None


def load_settings(config_file: Path | None = None, **overrides: object) -> NodeSettings:
    """Build settings from ``overrides``, the environment and an optional TOML file."""
    if config_file is None:
        return NodeSettings(**overrides)  # type: ignore[arg-type]
    if not config_file.is_file():
        raise FileNotFoundError(f"no settings file at {config_file}")

    class FromFile(NodeSettings):
        model_config = SettingsConfigDict(**{**NodeSettings.model_config, "toml_file": config_file})

    try:
        return FromFile(**overrides)  # type: ignore[arg-type]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{config_file} is not a TOML settings file: {exc}") from exc
