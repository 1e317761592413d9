"""``labelnet task create`` from a Label Studio export on the devnet: the disputed items are
reported and left out of the gold, the project's names are kept for exports, and gold the
validators would refuse is refused before anything is escrowed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from client.sdk import Network
from node.chain.market import read_task
from node.content.labelstudio import LabelStudioProfile
from node.roles.requester.gold import GoldSecrets
from tests.client.conftest import assert_one_line_error, run

CONFIG = (
    '<View><Text name="post" value="$body"/>'
    '<Choices name="tone" toName="post"><Choice value="pos"/><Choice value="neg"/></Choices>'
    "</View>"
)


def _export(tmp_path: Path, answers: dict[str, list[list[str]]]) -> Path:
    tasks = [
        {
            "id": number,
            "data": {"body": f"post {item}"},
            "annotations": [
                {
                    "completed_by": user,
                    "result": [
                        {
                            "from_name": "tone",
                            "to_name": "post",
                            "type": "choices",
                            "value": {"choices": choices},
                        }
                    ],
                }
                for user, choices in enumerate(given, start=1)
            ],
        }
        for number, (item, given) in enumerate(answers.items(), start=1)
    ]
    path = tmp_path / "project.json"
    path.write_text(json.dumps(tasks))
    return path


def _create(tmp_path: Path, source: Path, *extra: str) -> Result:
    return run(
        "task", "create", str(source), "--reward-per-label", "2", "--validator-fee", "1",
        "--redundancy", "2", "--commit-in", "10m", "--reveal-in", "5m", "--attest-in", "5m",
        "--data-dir", str(tmp_path / "requester-node"), *extra,
    )  # fmt: skip


def test_create_reports_disputed_items_and_keeps_the_project_names(
    devnet: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.xml"
    config.write_text(CONFIG)
    source = _export(tmp_path, {"a": [["pos"], ["pos"]], "b": [["pos"], ["neg"]], "c": [["neg"]]})
    result = _create(tmp_path, source, "--label-config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["gold_items"] == 2 and created["gold_conflicts"] == ["2"]
    assert "1 items were not made gold" in result.stderr

    state = read_task(Network.from_devnet(devnet).contracts.market, int(created["task_id"]))
    data_dir = tmp_path / "requester-node"
    secret = GoldSecrets(data_dir / "requester" / "gold").find(state.gold_commitment)
    assert secret is not None and secret[0].as_dict() == {"1": "pos", "3": "neg"}
    kept = data_dir / "requester" / "labelstudio" / f"{created['manifest_cid']}.json"
    profile = LabelStudioProfile.from_document(json.loads(kept.read_text()))
    assert (profile.from_name, profile.to_name, profile.data_key) == ("tone", "post", "body")
    assert profile.config == CONFIG


def test_gold_the_validators_would_refuse_is_refused_before_escrow(
    devnet: Path, tmp_path: Path
) -> None:
    # Both annotators ticked the same two choices: a valid answer for a multi-label task,
    # but not for a categorical one, whose validators would then ignore all the gold.
    source = _export(tmp_path, {"a": [["neg", "pos"], ["pos", "neg"]], "b": [["pos"]]})
    refused = _create(tmp_path, source)
    assert_one_line_error(refused, "validators would ignore the whole gold set")
    posted = _create(tmp_path, source, "--kind", "multilabel", "--json")
    assert posted.exit_code == 0, posted.stderr
    assert json.loads(posted.stdout)["gold_items"] == 2
