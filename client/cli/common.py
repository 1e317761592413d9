"""What every ``labelnet`` command shares: chain options, amounts, output and the error line.

Errors: a command body runs inside :func:`errors`, which turns every known failure
(labelnet's own errors, unreachable RPCs and nodes, unreadable files) into ONE line on
stderr, ``error: <what> — <fix>``, and a nonzero exit. Nothing the user can cause shows a
traceback.

Startup time: the commands import web3, the SDK and the node modules inside their bodies,
and errors are recognised by class name, so ``labelnet --help`` does not load the stack.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from node.errors import LabelnetError

if TYPE_CHECKING:
    from web3.exceptions import ContractLogicError

    from client.sdk.network import Network
    from node.chain.errors import ContractRevertError

EXIT_ERROR = 1
DECIMALS = 18
DEFAULT_DEVNET = Path(".labelnet-devnet")
AMOUNT_HELP = (
    "Token amount: a number of tokens with up to 18 decimals (`10`, `2.5`), "
    "or base units with the suffix `wei` (`5000wei`)."
)

stderr = Console(stderr=True)


class CliError(LabelnetError, ValueError):
    """A command-line input the command cannot use; ``fix`` says what to do instead."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.fix = fix


_REVERT_FIXES = {
    "ValidatorStakingStillUnbonding": "wait for the unbonding delay, then run `labelnet withdraw`",
    "ValidatorStakingNothingToWithdraw": "request an unstake first (`labelnet unstake AMOUNT`)",
    "ValidatorStakingInsufficientFreeStake": "unstake at most the free (unlocked) stake",
    "TaskMarketUnknownTask": "check the task id (`labelnet task list`)",
    "ERC20InsufficientBalance": "fund the account with tokens first",
}
_FIXES_BY_TYPE = {
    "DevnetNotFoundError": "start one with `labelnet devnet up` or pass --devnet DIR",
    "UnknownEngineError": "choose --chain anvil or --chain hardhat",
    "DevChainError": "run scripts/setup.sh (it installs anvil and Hardhat), or see DIR's log",
    "ChainIdMismatchError": "point --rpc-url at the chain you mean, or fix --chain-id",
    "DeployError": "fund the deployer with ETH, and check that the chain mines blocks",
    "DevnetError": "see DIR/anvil.log (or hardhat.log), or `labelnet devnet down` and up again",
    "KeystoreError": "check --keystore / --password-file (or the devnet account)",
    "NetworkError": "start the chain (`labelnet devnet up`) or fix --rpc-url / --deployment",
    "DeploymentError": "pass --deployment FILE or use --devnet DIR",
    "NoAccountError": "pass --keystore FILE or --account NAME",
    "StakeAmountError": "check the stake (`labelnet stake --help`); withdraw after the delay",
    "ResultNotFinalError": "wait until the task is finalized (`labelnet task show ID`)",
    "ResultUnavailableError": "start a node that holds the result, or pass --peer URL",
    "NothingToClaimError": "wait until the task is final and the node has synced it",
    "TaskRequestError": "fix the task options (`labelnet task create --help`)",
    "TaskSpecError": "fix the task options (`labelnet task create --help`)",
    "ItemImportError": "fix the items file or pass --format",
    "ManifestError": "fix the items (ids, classes, data)",
    "MissingDependencyError": "install the missing extra, or choose another --format",
    "GoldSecretError": "check the requester data directory's requester/gold files",
    "ChainError": "check that the chain is running and the account holds ETH for gas",
    "HTTPError": "start the node (`labelnet node start`) or fix --node-url",
    "OSError": "check the path and its permissions",
}


def _fix_for(exc: BaseException) -> str:
    if isinstance(exc, CliError):
        return exc.fix
    kinds = [kind.__name__ for kind in type(exc).__mro__]
    if "ContractRevertError" in kinds:
        name = str(getattr(exc, "name", ""))
        return _REVERT_FIXES.get(name, "the contract refused: check the arguments and state")
    if "NodeApiError" in kinds:
        if getattr(exc, "status", 0) == 0:
            return "start the node (`labelnet node start`) or fix --node-url"
        return "see the node's log for details"
    for kind in kinds:
        if kind in _FIXES_BY_TYPE:
            return _FIXES_BY_TYPE[kind]
    return "check the arguments (`labelnet COMMAND --help`)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def fail(what: str, fix: str) -> typer.Exit:
    """Print the error line and return the exit to raise."""
    typer.echo(f"error: {_one_line(what)} — {_one_line(fix)}", err=True)
    return typer.Exit(EXIT_ERROR)


@contextmanager
def errors() -> Iterator[None]:
    """Run a command body, reporting known failures as one line and a nonzero exit."""
    try:
        yield
    except Exception as exc:
        known = _describe(exc)
        if known is None:
            raise
        raise fail(*known) from exc


def _describe(exc: Exception) -> tuple[str, str] | None:
    """``(what, fix)`` for a failure the user can cause or fix; None for a bug."""
    if isinstance(exc, LabelnetError | OSError):
        return str(exc) or type(exc).__name__, _fix_for(exc)
    if isinstance(exc, UnicodeDecodeError):  # a file the command reads as text (a password)
        return (
            f"a file given is not UTF-8 text ({exc.reason} at byte {exc.start})",
            "save it as UTF-8, or check that the option names the right file",
        )
    # Imported here: only failing commands pay for these (see the module docstring).
    import httpx
    from pydantic import ValidationError
    from web3.exceptions import ContractLogicError, Web3Exception

    from node.chain.errors import ChainError

    if isinstance(exc, ContractLogicError):
        revert = _decoded(exc)
        return f"the contract refused: {revert}", _fix_for(revert)
    if isinstance(exc, Web3Exception):
        return f"the chain refused the request: {exc}", _fix_for(ChainError())
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP request failed: {exc}", _fix_for(exc)
    if isinstance(exc, ValidationError):
        return f"unexpected data: {exc.errors()[0]['msg']}", _fix_for(exc)
    return None


def _decoded(exc: ContractLogicError) -> ContractRevertError:
    """A failed ``eth_call`` as the contract's named custom error."""
    from node.chain.errors import revert_from

    return revert_from(exc)


_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wei)?\s*$", re.IGNORECASE)


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """Base units of ``text``: tokens (18 decimals) unless suffixed ``wei`` (see AMOUNT_HELP)."""
    match = _AMOUNT.match(text)
    if match is None:
        raise CliError(f"bad amount {text!r}", "write tokens like `10` or `2.5`, or `5000wei`")
    number, wei = match.groups()
    try:
        value = Decimal(number) * (1 if wei else Decimal(10) ** DECIMALS)
    except InvalidOperation as exc:
        raise CliError(f"bad amount {text!r}", "write a plain decimal number") from exc
    if value != value.to_integral_value():
        raise CliError(
            f"amount {text!r} has more precision than the token's 18 decimals",
            "use at most 18 decimals, or whole base units with `wei`",
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise CliError(f"amount {text!r} must be positive", "give an amount above zero")
    return int(value)


def format_amount(base_units: int) -> str:
    """``1500000000000000000`` -> ``1.5``: tokens, trailing zeros dropped."""
    whole, fraction = divmod(base_units, 10**DECIMALS)
    if not fraction:
        return f"{whole:,}"
    return f"{whole:,}.{str(fraction).rjust(DECIMALS, '0').rstrip('0')}"


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds of ``90``, ``90s``, ``10m``, ``1h`` or ``2d``."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise CliError(f"bad duration {text!r}", "write a positive duration like 90s, 10m, 1h, 2d")
    return int(match.group(1)) * _UNIT[match.group(2)]


@contextmanager
def working(message: str, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr while a long step runs (none with ``quiet``, e.g. ``--json``);
    yields a function that updates the message."""
    if quiet:
        yield lambda _message: None
        return
    with stderr.status(message) as status:
        yield lambda text: status.update(text)


def emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


# Options shared by the commands that talk to a chain.
DevnetOpt = Annotated[
    Path | None,
    typer.Option(
        "--devnet",
        help=(
            "devnet directory for rpc, deployment and keys "
            f"[env LABELNET_DEVNET; default {DEFAULT_DEVNET}]"
        ),
        show_default=False,
    ),
]
RpcOpt = Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL (instead of a devnet)")]
DeploymentOpt = Annotated[
    Path | None, typer.Option("--deployment", help="deployment.json (with --rpc-url)")
]
KeystoreOpt = Annotated[Path | None, typer.Option("--keystore", help="V3 keystore of the account")]
PasswordFileOpt = Annotated[
    Path | None, typer.Option("--password-file", help="file holding the keystore password")
]
AccountOpt = Annotated[str | None, typer.Option("--account", help="devnet account name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
EngineOpt = Annotated[
    str | None,
    typer.Option("--chain", help="the local chain engine: anvil (default) or hardhat"),
]


def engine_name(chain: str | None) -> str:
    """The engine a ``--chain`` option names (the default engine when it is not given)."""
    from node.chain.engines import DEFAULT_ENGINE

    return (chain or DEFAULT_ENGINE).lower()


@dataclass(frozen=True)
class ChainOptions:
    """Where the chain and the account come from: explicit files, else a devnet."""

    devnet: Path | None = None
    rpc_url: str | None = None
    deployment: Path | None = None
    keystore: Path | None = None
    password_file: Path | None = None
    account: str | None = None

    @property
    def on_devnet(self) -> bool:
        """Whether the chain is a local devnet (no --rpc-url): its nodes' gateways are on
        loopback, so announced private addresses are fetched from."""
        return self.rpc_url is None

    def devnet_dir(self) -> Path:
        if self.devnet is not None:
            return self.devnet
        return Path(os.environ.get("LABELNET_DEVNET") or DEFAULT_DEVNET)

    def connect(self, default_account: str | None, *, need_account: bool = True) -> Network:
        """The network as the chosen account (``default_account`` on a devnet)."""
        from client.devnet import DevnetInfo
        from client.sdk.network import Network

        if self.rpc_url is not None or self.deployment is not None:
            if self.rpc_url is None or self.deployment is None:
                raise CliError(
                    "--rpc-url and --deployment go together",
                    "pass both, or use --devnet DIR",
                )
            password = None
            if self.keystore is not None:
                password = self._password()
            elif need_account:
                raise CliError("this command sends a transaction", "pass --keystore FILE")
            return Network.connect(self.rpc_url, self.deployment, self.keystore, password)
        directory = self.devnet_dir()
        info = DevnetInfo.load(directory)
        if self.keystore is not None:
            return Network.connect(
                info.rpc_url, info.deployment_file, self.keystore, self._password()
            )
        name = self.account or (default_account if need_account else None)
        return Network.from_devnet(directory, name)

    def _password(self) -> str:
        return read_password(self.password_file)


def read_password(password_file: Path | None) -> str:
    """A keystore password: the file's first line, else asked for without echo."""
    if password_file is not None:
        return password_file.read_text().rstrip("\n")
    return str(typer.prompt("Keystore password", hide_input=True))
