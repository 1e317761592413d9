"""A local labelnet network in one directory: anvil, the contracts and funded accounts.

``devnet_up`` starts anvil, deploys token, staking, market and registry, and gives every
named account a fresh key (an encrypted V3 keystore under ``<dir>/keystores``), ETH, tokens
and, for validators, stake. It writes ``deployment.json`` (what ``node start`` reads) and
``devnet.json`` (everything a client needs) atomically, so a half-built devnet never looks
like a ready one. Detached, anvil runs in its own session and outlives the command;
``devnet_down`` stops it. :class:`Devnet` is the in-process form for the demo and tests:
anvil belongs to the context manager and stops with it.

DEVNET ONLY: the keystores use a deliberately cheap scrypt cost (``FAST_SCRYPT_N``) so twenty
of them are made in milliseconds, and share one random password stored in ``<dir>/password``.
Both are fine for throwaway keys on a local chain and wrong for anything else.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from node.app.chain import load_deployment
from node.chain.anvil import DEFAULT_MNEMONIC, Anvil, AnvilError, find_anvil, free_port, rpc_call
from node.chain.contracts import Contracts, DeployConfig, Deployment, bind, deploy
from node.chain.tx import TxSender
from node.errors import LabelnetError
from node.keys import FAST_SCRYPT_N, create_keystore, load_keystore

DEFAULT_ACCOUNTS: tuple[str, ...] = (
    "requester",
    "annotator-1",
    "annotator-2",
    "annotator-3",
    "validator-1",
    "validator-2",
    "validator-3",
)
"""Accounts of a default devnet; names starting with ``validator`` are staked."""
DEFAULT_TOKENS = 1_000_000 * 10**18
DEVNET_FILE = "devnet.json"
DEPLOYMENT_FILE = "deployment.json"
PASSWORD_FILE = "password"
PID_FILE = "anvil.pid"
LOG_FILE = "anvil.log"
ACCOUNT_ETH = 1_000 * 10**18

Step = Callable[[str], None]


class DevnetError(LabelnetError, RuntimeError):
    """The devnet cannot be started, found or stopped."""


class DevnetNotFoundError(DevnetError, LookupError):
    """No devnet in the directory."""


@dataclass(frozen=True)
class DevnetAccount:
    """A named devnet account and its keystore (password: the devnet's password file)."""

    name: str
    address: str
    keystore: Path


@dataclass(frozen=True)
class DevnetInfo:
    """What ``devnet.json`` records about a running devnet."""

    rpc_url: str
    chain_id: int
    deployment_file: Path
    password_file: Path
    accounts: tuple[DevnetAccount, ...]
    anvil_pid: int | None

    def account(self, name: str) -> DevnetAccount:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise DevnetNotFoundError(f"the devnet has no account {name!r} (it has: {known})")

    def password(self) -> str:
        return self.password_file.read_text().rstrip("\n")

    def signer(self, name: str) -> LocalAccount:
        """Decrypt the named account's key."""
        return load_keystore(self.account(name).keystore, self.password())

    def to_json(self) -> dict[str, Any]:
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "deployment_file": str(self.deployment_file),
            "password_file": str(self.password_file),
            "accounts": [
                {"name": a.name, "address": a.address, "keystore": str(a.keystore)}
                for a in self.accounts
            ],
            "anvil_pid": self.anvil_pid,
        }

    @classmethod
    def load(cls, directory: Path) -> DevnetInfo:
        path = directory / DEVNET_FILE
        try:
            document = json.loads(path.read_text())
            return cls(
                rpc_url=str(document["rpc_url"]),
                chain_id=int(document["chain_id"]),
                deployment_file=Path(document["deployment_file"]),
                password_file=Path(document["password_file"]),
                accounts=tuple(
                    DevnetAccount(str(a["name"]), str(a["address"]), Path(a["keystore"]))
                    for a in document["accounts"]
                ),
                anvil_pid=None if document["anvil_pid"] is None else int(document["anvil_pid"]),
            )
        except FileNotFoundError as exc:
            raise DevnetNotFoundError(f"no devnet in {directory} (no {DEVNET_FILE})") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DevnetError(f"{path} is unreadable or malformed: {exc}") from exc


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _deployer(w3: Web3) -> TxSender:
    """anvil's first development account: it deploys and holds the token supply."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(DEFAULT_MNEMONIC)
    return TxSender(w3, account)


def _default_stake(accounts: Sequence[str], config: DeployConfig) -> dict[str, int]:
    return {name: 10 * config.min_stake for name in accounts if name.startswith("validator")}


def _provision(
    directory: Path,
    w3: Web3,
    *,
    accounts: Sequence[str],
    tokens_per_account: int,
    stake: Mapping[str, int] | None,
    deploy_config: DeployConfig | None,
    rpc_url: str,
    anvil_pid: int | None,
    step: Step,
) -> DevnetInfo:
    """Deploy, create and fund the accounts, stake, then write the devnet files."""
    if len(set(accounts)) != len(accounts):
        raise DevnetError(f"account names repeat: {list(accounts)}")
    config = deploy_config or DeployConfig()
    stakes = dict(_default_stake(accounts, config) if stake is None else stake)
    unknown = sorted(set(stakes) - set(accounts))
    if unknown:
        raise DevnetError(f"stake names accounts that do not exist: {', '.join(unknown)}")
    for name, amount in stakes.items():
        if amount > tokens_per_account:
            raise DevnetError(f"{name} cannot stake {amount}: it only gets {tokens_per_account}")
    if tokens_per_account * len(accounts) > config.token_supply:
        raise DevnetError(
            "tokens_per_account times the number of accounts exceeds the token supply"
        )
    step("deploying the contracts")
    deployer = _deployer(w3)
    deployment = deploy(deployer, config)
    contracts = bind(w3, deployment)

    step(f"creating {len(accounts)} accounts")
    password = secrets.token_urlsafe(18)
    password_file = directory / PASSWORD_FILE
    _write_atomic(password_file, password + "\n", 0o600)
    keystores = directory / "keystores"
    signers: dict[str, LocalAccount] = {}
    records: list[DevnetAccount] = []
    for name in accounts:
        path = keystores / f"{name}.json"
        path.unlink(missing_ok=True)  # a stale devnet's key: its chain is gone
        signers[name] = create_keystore(path, password, scrypt_n=FAST_SCRYPT_N)
        records.append(DevnetAccount(name, signers[name].address, path.resolve()))

    step("funding the accounts")
    for signer in signers.values():
        w3.provider.make_request("anvil_setBalance", [signer.address, hex(ACCOUNT_ETH)])  # type: ignore[arg-type]
    if tokens_per_account:
        _wait_all(
            deployer,
            [
                deployer.submit(contracts.token.functions.transfer(s.address, tokens_per_account))
                for s in signers.values()
            ],
        )
    if stakes:
        step(f"staking {len(stakes)} validators")
        _stake_all(w3, contracts, [(signers[n], amount) for n, amount in stakes.items()])

    deployment_file = directory / DEPLOYMENT_FILE
    _write_atomic(deployment_file, json.dumps(deployment.to_json(), indent=2) + "\n")
    info = DevnetInfo(
        rpc_url=rpc_url,
        chain_id=deployment.chain_id,
        deployment_file=deployment_file.resolve(),
        password_file=password_file.resolve(),
        accounts=tuple(records),
        anvil_pid=anvil_pid,
    )
    _write_atomic(directory / DEVNET_FILE, json.dumps(info.to_json(), indent=2) + "\n")
    return info


def _wait_all(sender: TxSender, hashes: Sequence[HexBytes]) -> None:
    for tx_hash in hashes:
        sender.wait(tx_hash)


def _stake_all(w3: Web3, contracts: Contracts, stakes: Sequence[tuple[LocalAccount, int]]) -> None:
    """Approve and stake for every validator: all approvals first, then all stakes."""
    senders = [(TxSender(w3, account), amount) for account, amount in stakes if amount > 0]
    approve = contracts.token.functions.approve
    approvals = [s.submit(approve(contracts.staking.address, amount)) for s, amount in senders]
    for (sender, _), tx_hash in zip(senders, approvals, strict=True):
        sender.wait(tx_hash)
    stakes_sent = [s.submit(contracts.staking.functions.stake(amount)) for s, amount in senders]
    for (sender, _), tx_hash in zip(senders, stakes_sent, strict=True):
        sender.wait(tx_hash)


def _prepare(directory: Path) -> None:
    """Refuse a directory with a running devnet; clear the files of a stopped one."""
    directory.mkdir(parents=True, exist_ok=True)
    pid = _recorded_pid(directory)
    if pid is not None and _is_anvil(pid):
        raise DevnetError(
            f"a devnet is already running in {directory} (anvil pid {pid}); "
            f"stop it with `labelnet devnet down --devnet {directory}`"
        )
    for name in (DEVNET_FILE, DEPLOYMENT_FILE, PID_FILE):
        (directory / name).unlink(missing_ok=True)


def devnet_up(
    directory: Path,
    *,
    accounts: Sequence[str] = DEFAULT_ACCOUNTS,
    port: int | None = None,
    tokens_per_account: int = DEFAULT_TOKENS,
    stake: Mapping[str, int] | None = None,
    detach: bool = True,
    deploy_config: DeployConfig | None = None,
    block_time: float | None = None,
    step: Step | None = None,
) -> DevnetInfo:
    """Start anvil detached (it outlives this process), deploy and provision the accounts.

    ``stake`` maps account names to amounts; ``None`` stakes ten times the minimum for every
    account whose name starts with ``validator``. ``detach=False`` is :class:`Devnet` without
    the context manager: use :meth:`Devnet.start` for that.
    """
    if not detach:
        raise DevnetError("devnet_up(detach=False): use Devnet.start(...) as a context manager")
    _prepare(directory)
    report = step or (lambda _message: None)
    report("starting anvil")
    chosen = port or free_port()
    process = _spawn_detached(directory, chosen, block_time)
    rpc_url = f"http://127.0.0.1:{chosen}"
    try:
        _wait_ready(rpc_url, process)
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        return _provision(
            directory,
            w3,
            accounts=accounts,
            tokens_per_account=tokens_per_account,
            stake=stake,
            deploy_config=deploy_config,
            rpc_url=rpc_url,
            anvil_pid=process.pid,
            step=report,
        )
    except BaseException:
        _stop_pid(process.pid)
        (directory / PID_FILE).unlink(missing_ok=True)
        raise


def _spawn_detached(
    directory: Path, port: int, block_time: float | None
) -> subprocess.Popen[bytes]:
    args = [
        find_anvil(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--mnemonic",
        DEFAULT_MNEMONIC,
    ]
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    with (directory / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    _write_atomic(directory / PID_FILE, f"{process.pid}\n")
    return process


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(
                f"anvil exited with {process.returncode}: see its log next to devnet.json"
            )
        try:
            rpc_call(url, "web3_clientVersion", timeout=1.0)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    raise AnvilError(f"anvil did not answer on {url} within {timeout}s")


def _recorded_pid(directory: Path) -> int | None:
    try:
        return int((directory / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_anvil(pgid: int) -> bool:
    """Whether an anvil of the process group ``pgid`` is still running.

    The npm ``anvil`` is a Node wrapper that runs the real binary as its child, so the whole
    group (the detached session) counts. Zombies do not (this machine's init may never reap
    them), and a live process counts only if its command line names anvil, so a recycled pid
    is never mistaken for ours.
    """
    _reap(pgid)
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: trust the group signal
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            if b"anvil" in (entry / "cmdline").read_bytes():
                return True
        except (OSError, IndexError, ValueError):
            continue
    return False


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our exited child (an in-process ``devnet_up``)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(pid: int) -> None:
    """Signal the detached session (anvil's Node wrapper and the binary) until it is gone."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_anvil(pid):
                return
            time.sleep(0.05)
    raise DevnetError(f"anvil (pid {pid}) did not stop; kill it by hand")


def devnet_running(directory: Path) -> bool:
    """Whether the detached anvil of the devnet in ``directory`` is alive."""
    pid = _recorded_pid(directory)
    return pid is not None and _is_anvil(pid)


def devnet_down(directory: Path) -> None:
    """Stop the devnet's detached anvil (SIGINT, then SIGTERM, then SIGKILL).

    The keystores and devnet files stay; a later ``devnet up`` in the same directory starts
    a fresh chain with fresh accounts.
    """
    if not (directory / DEVNET_FILE).exists() and not (directory / PID_FILE).exists():
        raise DevnetNotFoundError(f"no devnet in {directory} (no {DEVNET_FILE})")
    pid = _recorded_pid(directory)
    if pid is not None and _is_anvil(pid):
        _stop_pid(pid)
    (directory / PID_FILE).unlink(missing_ok=True)


class Devnet:
    """An in-process devnet: anvil is a child of this process and stops on ``__exit__``."""

    def __init__(self, info: DevnetInfo, w3: Web3, anvil: Anvil) -> None:
        self.info = info
        self.w3 = w3
        self.anvil = anvil

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        accounts: Sequence[str] = DEFAULT_ACCOUNTS,
        stake: Mapping[str, int] | None = None,
        tokens_per_account: int = DEFAULT_TOKENS,
        deploy_config: DeployConfig | None = None,
        block_time: float | None = None,
        step: Step | None = None,
    ) -> Devnet:
        _prepare(directory)
        anvil = Anvil(accounts=2, block_time=block_time).start()
        try:
            w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
            info = _provision(
                directory,
                w3,
                accounts=accounts,
                tokens_per_account=tokens_per_account,
                stake=stake,
                deploy_config=deploy_config,
                rpc_url=anvil.url,
                anvil_pid=None,
                step=step or (lambda _message: None),
            )
        except BaseException:
            anvil.stop()
            raise
        return cls(info, w3, anvil)

    @property
    def deployment(self) -> Deployment:
        return load_deployment(self.info.deployment_file)

    def sender(self, name: str) -> TxSender:
        """A transaction sender for the named account."""
        return TxSender(self.w3, self.info.signer(name))

    def stop(self) -> None:
        self.anvil.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
