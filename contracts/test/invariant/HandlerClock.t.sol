// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "../utils/TestBase.sol";
import {Deal} from "../utils/Deal.sol";
import {MarketHandler} from "./MarketHandler.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {IQualifications} from "../../src/interfaces/IQualifications.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @notice MarketHandler with its clock and round-2 check callable from a test.
contract ClockHarness is MarketHandler {
    constructor(
        LabelToken token_,
        ValidatorStaking staking_,
        TaskMarket market_,
        address[] memory requesters_,
        address[] memory annotators_,
        address[] memory validators_
    ) MarketHandler(token_, staking_, market_, requesters_, annotators_, validators_) {}

    function warpTo(uint256 target) external {
        _warpTo(target);
    }

    function checkRound2(uint256 id) external {
        _checkRound2(id);
    }
}

/// @notice The pieces the invariant handler adds for §5 invariants 6 and 8, checked on their
/// own: the seed is the nodes' (`node/protocol/deal.deal_seed`), the clock seals the block
/// node/chain/seal.py would pick, and the round-2 check fails a task whose rounds opened late.
contract HandlerClockTest is TestBase {
    LabelToken internal token;
    TaskMarket internal market;
    ClockHarness internal handler;
    address internal treasury;

    function setUp() public {
        treasury = makeAddr("treasury");
        token = new LabelToken(treasury, 1e9 ether);
        ValidatorStaking staking = new ValidatorStaking(token, 100 ether, 3 days, 100, address(this));
        market = new TaskMarket(token, staking, 3, 2, 3334, 1 hours, IQualifications(address(0)));
        staking.setMarket(address(market));
        address[] memory requesters = new address[](1);
        requesters[0] = makeAddr("requester");
        address[] memory annotators = new address[](2);
        annotators[0] = makeAddr("annotatorA");
        annotators[1] = makeAddr("annotatorB");
        address[] memory validators = new address[](2);
        validators[0] = makeAddr("validator1");
        validators[1] = makeAddr("validator2");
        _fund(requesters[0], address(market));
        _fund(annotators[0], address(market));
        _fund(annotators[1], address(market));
        handler = new ClockHarness(token, staking, market, requesters, annotators, validators);
    }

    function _fund(address account, address spender) internal {
        vm.prank(treasury);
        vm.assertTrue(token.transfer(account, 1_000 ether));
        vm.prank(account);
        token.approve(spender, type(uint256).max);
    }

    /// @notice Pinned to the node's rule: `.venv/bin/python -c "from node.protocol.deal import
    /// deal_seed; print(deal_seed(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3', 7,
    /// bytes(range(32))).hex())"`.
    function test_sealSeedIsTheNodesSeed() public pure {
        bytes32 randomness = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f;
        vm.assertEq(
            Deal.sealSeed(31337, 0x5FbDB2315678afecb367f032d93F642f64180aa3, 7, randomness),
            0xf09d8588005ffb77bbef9e66c78f1583ea149ea60fd88f2094ca4714499666ac
        );
    }

    /// @notice The seal block is the first block mined with a timestamp past `seatDeadline +
    /// SEAL_DELAY`, and its seed (`prevrandao` is zero in forge, so `blockhash`) is known
    /// from the next block on. Seats: two of two, so every item is dealt exactly k = 2 times.
    function test_clockSealsTheFirstBlockPastTheSealTime() public {
        handler.createTask(1 << 100, 4, 2, 1, 0, 0);
        handler.claimSeat(0, 0);
        handler.claimSeat(0, 1);
        (,,, uint64 seatDeadline,) = handler.shapeOf(1);
        uint256 sealTime = seatDeadline + handler.SEAL_DELAY();

        handler.warpTo(sealTime);
        vm.assertEq(handler.sealBlockOf(1), 0, "sealed at the seal time itself");
        handler.warpTo(sealTime + 1);
        uint256 x = block.number;
        vm.assertEq(handler.sealBlockOf(1), x);
        vm.assertEq(handler.seatsAtSeal(1), 2);
        (bool known,) = handler.sealSeedOf(1);
        vm.assertFalse(known, "the seal block's own hash is not readable yet");

        handler.warpTo(sealTime + 2);
        bytes32 seed;
        (known, seed) = handler.sealSeedOf(1);
        vm.assertTrue(known);
        vm.assertEq(seed, Deal.sealSeed(block.chainid, address(market), 1, blockhash(x)));
        uint256 most;
        (known, most) = handler.mostSeatsPerItem(1);
        vm.assertEq(most, 2);
    }

    /// @notice §5 invariant 8 fails when nobody finalizes at the deadlines: rounds 1 and 2 then
    /// open from the late `finalize` calls, and round 2 ends past the delay bound. (The
    /// handler's clock finalizes one second after each deadline, so the campaign never does
    /// this; here time moves around it.)
    function test_roundsOpenedLateFailTheDelayBound() public {
        handler.createTask(3, 2, 1, 1, 0, 0);
        handler.commit(0, 0);
        handler.reveal(0, 0);
        ITaskMarket.Task memory t = market.getTask(1);
        vm.assertEq(uint256(t.revealCount), 1);
        vm.warp(t.attestDeadline + 30 days);
        market.finalize(1);
        vm.warp(block.timestamp + 30 days);
        market.finalize(1);
        t = market.getTask(1);
        vm.assertEq(uint256(t.round), 2);
        vm.assertTrue(t.roundDeadline > handler.delayBound(t.attestDeadline));
        handler.checkRound2(1);
        vm.assertEq(handler.ghostDelayFailures(), 1);
    }
}
