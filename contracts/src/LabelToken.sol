// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title LabelToken
/// @notice The ERC-20 bounties, bonds, stakes and payouts are denominated in. EIP-2612
/// permit lets a requester post a task in one transaction, without a prior approval.
/// @dev The whole supply is minted once, to `holder`; there is no owner and no mint after
/// deployment, so nobody can dilute escrowed bounties or stakes.
contract LabelToken is ERC20, ERC20Permit {
    /// @param holder Receives the fixed supply (a treasury, a faucet, or the devnet deployer).
    /// @param supply Total supply in the smallest unit (18 decimals).
    constructor(address holder, uint256 supply)
        ERC20("labelnet Label Token", "LABEL")
        ERC20Permit("labelnet Label Token")
    {
        _mint(holder, supply);
    }
}
