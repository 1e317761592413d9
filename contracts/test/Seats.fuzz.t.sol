// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {SeatsHarness} from "./utils/SeatsHarness.sol";
import {Seats} from "../src/libraries/Seats.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Fuzzed properties of the Seats library: the shapes it accepts are exactly those of
/// docs/settlement.md §1.2 and their seats pay the pool exactly; a random sequence of claims and
/// commits by a few addresses never seats anyone twice, never passes the limit, numbers seats in
/// claim order, and lets only seat holders commit.
contract SeatsFuzzTest is TestBase {
    uint256 internal constant STEPS = 48;
    uint256 internal constant PEOPLE = 12;

    function setUp() public {
        vm.warp(1_000_000);
    }

    function _word(uint256 seed, uint256 i, uint256 salt) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i, salt)));
    }

    function testFuzz_seatLimitAcceptsExactlyTheDesignedShapes(
        uint32 numItems,
        uint16 redundancy,
        uint32 batchSize,
        uint64 labelTime,
        uint64 minLabelTime
    ) public {
        numItems = uint32(bound(numItems, 1, type(uint32).max));
        redundancy = uint16(bound(redundancy, 1, type(uint16).max));
        batchSize = uint32(bound(batchSize, 1, type(uint32).max));
        // Mostly small batches around the items, so every branch is reached.
        if (batchSize % 2 == 0) batchSize = uint32(bound(batchSize, 1, uint256(numItems) + 1));
        minLabelTime = uint64(bound(minLabelTime, 0, 30 days));
        labelTime = uint64(bound(labelTime, 0, 60 days));
        ITaskMarket.TaskParams memory p;
        p.numItems = numItems;
        p.redundancy = redundancy;
        p.batchSize = batchSize;
        p.seatDeadline = uint64(block.timestamp + 1);
        p.commitDeadline = p.seatDeadline + labelTime;
        SeatsHarness harness = new SeatsHarness(0, 0);

        uint256 positions = uint256(numItems) * redundancy;
        bool shapeOk = batchSize <= numItems && positions % batchSize == 0 && positions / batchSize < 1 << 24;
        bool timeOk = labelTime >= minLabelTime;
        if (!shapeOk) {
            vm.expectRevert(
                abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidBatchSize.selector, batchSize, numItems, redundancy)
            );
        } else if (!timeOk) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, minLabelTime
                )
            );
        }
        uint256 limit = harness.seatLimit(p, minLabelTime);
        if (shapeOk && timeOk) {
            vm.assertEq(limit * batchSize, positions, "the seats are full batches covering every position");
            vm.assertLe(limit, Seats.MAX_SEATS);
            vm.assertTrue(limit > 0);
        }
    }

    function testFuzz_claimsAndCommitsKeepOneSeatPerAddress(uint256 seed, uint8 limit, bool openTask) public {
        limit = uint8(bound(limit, 1, PEOPLE + 2));
        SeatsHarness harness = openTask ? new SeatsHarness(0, 0) : new SeatsHarness(limit, uint64(block.timestamp));
        bool[PEOPLE] memory seated;
        bool[PEOPLE] memory committed;
        uint256 seats;
        for (uint256 i; i < STEPS; ++i) {
            uint256 who = _word(seed, i, 0) % PEOPLE;
            // forge-lint: disable-next-line(unsafe-typecast) -- who < PEOPLE.
            address annotator = address(uint160(0x1000 + who));
            if (_word(seed, i, 1) % 2 == 0) {
                (bool ok, bytes memory ret) = address(harness).call(abi.encodeCall(SeatsHarness.claim, (annotator)));
                bool expected = !openTask && !seated[who] && !committed[who] && seats < limit;
                vm.assertTrue(ok == expected, "a claim succeeds iff seated task, new address, seats left");
                if (ok) {
                    vm.assertEq(abi.decode(ret, (uint256)), seats, "seats are numbered in claim order");
                    seated[who] = true;
                    ++seats;
                }
            } else {
                bytes32 commitment = bytes32(_word(seed, i, 2) | Seats.MIN_COMMITMENT);
                (bool ok, bytes memory ret) =
                    address(harness).call(abi.encodeCall(SeatsHarness.commit, (annotator, commitment)));
                vm.assertTrue(ok == (openTask || seated[who]), "only seat holders commit to a seated task");
                if (ok) {
                    vm.assertTrue(abi.decode(ret, (bool)) == (openTask && !committed[who]), "first commit");
                    vm.assertEq(harness.commitmentOf(annotator), commitment);
                    committed[who] = true;
                }
            }
            vm.assertEq(harness.count(), seats);
            vm.assertLe(seats, openTask ? 0 : limit);
            vm.assertTrue(harness.hasSeat(annotator) == seated[who]);
        }
    }
}
