"""A local labelnet network in one directory: a chain, the contracts and funded accounts.

The chain is anvil or Hardhat (the ``engine``). ``devnet_up`` starts it, deploys token,
staking, market and registry, and gives every named account a fresh key (an encrypted V3
keystore under ``<dir>/keystores``), ETH, tokens and, for validators, stake. It writes
``deployment.json`` (what ``node start`` reads) and ``devnet.json`` (everything a client
needs) atomically, so a half-built devnet never looks like a ready one. Detached, the chain
runs in its own session and outlives the command; ``devnet_down`` stops it. :class:`Devnet`
is the in-process form for the demo and tests: the chain belongs to the context manager and
stops with it.

DEVNET ONLY: the keystores use a deliberately cheap scrypt cost (``FAST_SCRYPT_N``) so twenty
of them are made in milliseconds, and share one random password stored in ``<dir>/password``.
Both are fine for throwaway keys on a local chain and wrong for anything else.

The package is split by responsibility: :mod:`~client.devnet.info` (the directory's files and
``DevnetInfo``), :mod:`~client.devnet.provision` (deploying, funding, staking, keystores),
:mod:`~client.devnet.process` (the detached chain) and :mod:`~client.devnet.launch`
(``devnet_up`` and ``Devnet``). Import from ``client.devnet``; the modules are its layout.
"""

from client.devnet.info import (
    DEPLOYMENT_FILE,
    DEVNET_FILE,
    PASSWORD_FILE,
    DevnetAccount,
    DevnetError,
    DevnetInfo,
    DevnetNotFoundError,
    log_file_name,
    pid_file_name,
)
from client.devnet.launch import Devnet, devnet_up
from client.devnet.process import devnet_down, devnet_running
from client.devnet.provision import ACCOUNT_ETH, DEFAULT_ACCOUNTS, DEFAULT_TOKENS, Step

__all__ = [
    "ACCOUNT_ETH",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_TOKENS",
    "DEPLOYMENT_FILE",
    "DEVNET_FILE",
    "PASSWORD_FILE",
    "Devnet",
    "DevnetAccount",
    "DevnetError",
    "DevnetInfo",
    "DevnetNotFoundError",
    "Step",
    "devnet_down",
    "devnet_running",
    "devnet_up",
    "log_file_name",
    "pid_file_name",
]
