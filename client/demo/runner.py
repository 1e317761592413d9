"""``labelnet demo``: a whole network on one machine, replaying real crowd answers.

What runs: a devnet (anvil or Hardhat + the contracts), one requester node, ``annotators`` annotator
nodes replaying the workers of a crowd data set, ``spammers`` annotator nodes answering at
random, and ``validators`` validator nodes of which ``lying_validators`` attest a corrupted
payout root. Each node is its own ``labelnet node start`` process with its own data
directory and embedded store, so content moves only through the nodes' gateways; the
orchestrator (this module) only posts the task as the requester, watches the chain, and
collects the figures at the end.

**The devnet clock.** Real tasks give annotators hours; a demo cannot wait. Tasks are
posted with realistic deadlines, and the orchestrator moves the chain's clock to a deadline as
soon as every participant is done with the phase (all committed, all revealed, every
validator attested). Nodes read time only from the chain, so they act exactly as they would
when the deadline passes for real. For the same reason honest validators run with
``finalize_early`` off here: the lying validator must get its attestation in (and be
slashed) before the task settles, instead of racing the honest supermajority.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from client.demo.dataset import DemoDataset, load_dataset, resolve_dataset
from client.demo.errors import DemoError as DemoError
from client.demo.kinds import INSTRUCTIONS, collect_kind_summary, make_crowd, render_kind
from client.demo.metrics import collect_summary
from client.demo.network import (
    NodeProcess,
    node_settings,
    start_all,
    stop_all,
    terminated_as_exit,
)
from client.demo.phases import FINALITY_DEPTH as FINALITY_DEPTH
from client.demo.phases import drive
from client.demo.posting import MIN_LABEL_TIME, VALIDATOR_STAKE, post_content, post_task
from client.demo.progress import Progress
from client.demo.qualified import DOMAIN as QUALIFICATION_DOMAIN
from client.demo.qualified import (
    Qualification,
    admission_summary,
    least_batch,
    passed,
    simulated_crowd,
    split_items,
)
from client.demo.report import write_report
from client.demo.review import (
    ReviewRound,
    ReviewSpecError,
    review_params,
    reviewer_program,
    write_gold_csv,
)
from client.devnet import Devnet
from node.chain.contracts import DeployConfig
from node.chain.engines import DEFAULT_ENGINE
from node.chain.qualifications import Gate
from node.protocol.annotation import AnnotationParams
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, build_task_content
from node.roles.requester.posting import (
    CreatedTask,
)
from node.store.embedded import EmbeddedStore

MARKER = ".labelnet-demo"
LABELER_BATCH = 2_000
"""Items per call of the replay and random labelers: they answer from memory, instantly."""


def default_datasets_dir() -> Path:
    """``../shared/datasets`` beside the repository, or ``LABELNET_DATASETS``."""
    configured = os.environ.get("LABELNET_DATASETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@dataclass(frozen=True)
class DemoOptions:
    """What to replay and how big the network is."""

    dataset: str = "zheng_d_product"
    items: int = 300
    annotators: int = 10
    out: Path = Path("demo-output")
    json: bool = False
    spammers: int = 2
    validators: int = 3
    lying_validators: int = 1
    gold_every: int = 10
    """Every n-th item's gold answer is committed and revealed (0: no gold)."""
    datasets_dir: Path = field(default_factory=default_datasets_dir)
    phase_timeout: float = 300.0
    quiet: bool = False
    poll_interval: float = 0.25
    """Seconds between two chain syncs and between two duty ticks on every node: shorter is
    snappier, but a big network of idle nodes polling often fills two cores."""
    spammer_labeler: str = "random"
    """The spammers' labeler: ``random`` (a different seed each) or any labeler spec used as
    is by all of them, e.g. ``constant:<class>`` for a group colluding on one class."""
    extra_accounts: tuple[tuple[str, int], ...] = ()
    """``(name, stake)`` of funded accounts that run no node: the actors of attack campaigns,
    which act through a phase hook (see :data:`PhaseHook`)."""
    chain: str = DEFAULT_ENGINE
    """The devnet's chain engine: ``anvil`` or ``hardhat``."""
    labeler_batch: int = LABELER_BATCH
    """Items each annotator node's labeling program answers per duty tick: with the poll
    interval, how fast the replayed crowd labels (a million items take 500 ticks at 2,000)."""
    seated: bool = True
    """Post a seated task (market v2: seats, items dealt from the seal's seed, exactly the
    rate per accepted label); False posts an open task under v1's rules."""
    redundancy: int | None = None
    """Labels per item (k); default: one per labelling node, as an open task always had."""
    batch_size: int | None = None
    """Items per seat; default: every item (then the seats are the k labelling nodes and each
    is dealt the whole task, which keeps the replayed crowd's answers usable)."""
    kind: TaskKind | None = None
    """``boxes``, ``spans``, ``text`` or ``pairwise``: a synthetic crowd of that kind
    (:mod:`client.demo.kinds`) on an open task instead of a replayed categorical data set."""
    confidential: bool = False
    """Post a confidential task (docs/confidential.md): item pages sealed under a task key
    the requester node wraps to the seated annotators and the named validators; no gold
    (a revealed gold set is public)."""
    unnamed_validators: int = 0
    """On a confidential task, how many validators (the last ones) it does not name: they
    cannot read it and skip it, so the attest phase waits for the others only."""
    reviewers: tuple[str, ...] = ()
    """A review round (:mod:`client.demo.review`): one entry per reviewing validator,
    ``judge[:<accuracy>]``, ``lazy`` or ``careless``; none: the task has no review."""
    review_share: str = "0.1"
    """The share of items the requester buys review for (``contested_share``)."""
    qualified: bool = False
    """Run a gold-only qualification task first and gate the main task on it
    (:mod:`client.demo.qualified`): simulated workers of chosen accuracies replace the data
    set's, and the report says who was admitted and why."""


PhaseHook = Callable[["DemoRun", str, int, int], None]
"""Called as ``hook(run, phase, done, total)`` on every poll of the phase driver, once more
when the phase is complete (before the clock moves on): where fault and attack campaigns
step in (kill a node, look at the gateways before the reveal)."""


@dataclass
class DemoRun:
    """The live parts of one run, shared by the phases."""

    options: DemoOptions
    devnet: Devnet
    nodes: list[NodeProcess]
    task: CreatedTask | None = None
    review: ReviewRound | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def by_role(self, role: str) -> list[NodeProcess]:
        return [node for node in self.nodes if node.role == role]


def _prepare_out(out: Path) -> Path:
    """``out/network`` emptied (only if an earlier demo made it: never someone's files)."""
    network = out / "network"
    if network.exists():
        if not (network / MARKER).exists():
            raise DemoError(f"{network} exists and was not made by a demo: choose another --out")
        shutil.rmtree(network)
    network.mkdir(parents=True)
    (network / MARKER).write_text("made by labelnet demo; deleted by the next run\n")
    return network


def _account_names(options: DemoOptions) -> list[str]:
    return [
        "requester",
        *(f"validator-{i + 1}" for i in range(options.validators)),
        *(f"annotator-{i + 1}" for i in range(options.annotators)),
        *(f"spammer-{i + 1}" for i in range(options.spammers)),
        *(name for name, _ in options.extra_accounts),
    ]


def run_demo(
    options: DemoOptions,
    *,
    on_event: Callable[[str], None] | None = None,
    on_poll: PhaseHook | None = None,
) -> Path:
    """Run the demo to its report; returns the report's path (``out/report.html``)."""
    if options.lying_validators * 3 > options.validators:
        # Equal stakes: the honest root needs at least 2/3 of the attesting stake to win.
        raise DemoError("at most 1/3 of the validators can lie, or no root reaches 2/3")
    if len(options.reviewers) > options.validators - options.lying_validators:
        raise DemoError("reviewers are honest validators: give the demo more --validators")
    if options.kind is not None:
        return _run_kind(options, options.kind, on_event=on_event, on_poll=on_poll)
    dataset = load_dataset(
        resolve_dataset(options.dataset, options.datasets_dir),
        items=options.items,
        annotators=options.annotators,
    )
    qualification_items = 0
    if options.qualified:
        qualification_items = split_items(len(dataset.items), least_batch(dataset.classes))
        dataset = simulated_crowd(dataset, qualification_items)
    progress = Progress(quiet=options.quiet or options.json, on_event=on_event)
    network = _prepare_out(options.out)
    answers_csv = dataset.write_answers(network / "answers.csv")
    replay = [f"replay:{answers_csv}:{worker}" for worker in load_dataset_workers(answers_csv)]
    gold_csv = write_gold_csv(network / "gold.csv", dataset.truth)
    try:
        programs = [reviewer_program(spec, gold_csv, n) for n, spec in enumerate(options.reviewers)]
    except ReviewSpecError as exc:
        raise DemoError(str(exc)) from exc
    with _network(options, network, progress) as devnet:
        nodes = _build_nodes(options, devnet, network, replay, programs)
        run = DemoRun(options=options, devnet=devnet, nodes=nodes)
        if programs:
            names = tuple(f"validator-{n + 1}" for n in range(len(programs)))
            run.review = ReviewRound(
                names=names,
                specs=options.reviewers,
                params=review_params(len(programs), options.review_share),
                accounts={name: devnet.info.account(name).address for name in names},
            )
        try:
            progress.note(f"starting {len(nodes)} node processes")
            start_all(nodes)
            run.timings["nodes_ready"] = time.monotonic() - run.started
            qualification = None
            if options.qualified:
                qualification = _qualify(run, dataset, qualification_items, progress, on_poll)
                dataset = replace(dataset, items=dataset.items[qualification_items:])
            post_task(run, dataset.items, dataset.classes, dataset.truth, progress, qualification)
            drive(run, progress, on_poll, gated=qualification is not None)
            summary = collect_summary(run, dataset)
            if qualification is not None:
                summary["admission"] = admission_summary(run, qualification)
                summary["qualification_timings"] = qualification.timings
        finally:
            stop_all(nodes)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    report = write_report(summary, options.out / "report.html")
    progress.summary(summary, report, as_json=options.json)
    return report


@contextmanager
def _network(options: DemoOptions, network: Path, progress: Progress) -> Iterator[Devnet]:
    """The devnet with every account funded and the validators staked."""
    stake = {f"validator-{i + 1}": VALIDATOR_STAKE for i in range(options.validators)}
    stake.update((name, amount) for name, amount in options.extra_accounts if amount)
    config = DeployConfig(
        min_attestations=2, unbonding_delay=7 * 24 * 3600, min_label_time=MIN_LABEL_TIME
    )
    progress.note(
        f"devnet: {len(_account_names(options))} accounts, {options.validators} staked validators"
    )
    with (
        terminated_as_exit(),
        Devnet.start(
            network / "devnet",
            accounts=_account_names(options),
            stake=stake,
            deploy_config=config,
            engine=options.chain,
        ) as devnet,
    ):
        yield devnet


def _run_kind(
    options: DemoOptions,
    kind: TaskKind,
    *,
    on_event: Callable[[str], None] | None,
    on_poll: PhaseHook | None,
) -> Path:
    """``demo --kind``: the synthetic crowd of :mod:`client.demo.kinds` on an open task."""
    try:
        crowd = make_crowd(kind, options.items, options.annotators)
    except ValueError as exc:
        raise DemoError(str(exc)) from exc
    progress = Progress(quiet=options.quiet or options.json, on_event=on_event)
    network = _prepare_out(options.out)
    labelers = crowd.labelers(crowd.write_truth(network / "truth.jsonl"))
    with _network(options, network, progress) as devnet:
        nodes = _build_nodes(options, devnet, network, labelers)
        run = DemoRun(options=options, devnet=devnet, nodes=nodes)
        try:
            progress.note(f"starting {len(nodes)} node processes")
            start_all(nodes)
            run.timings["nodes_ready"] = time.monotonic() - run.started
            content = build_task_content(
                list(crowd.items),
                title=f"Synthetic {kind} task",
                instructions=INSTRUCTIONS[kind],
                kind=kind,
                classes=crowd.classes,
                annotation=AnnotationParams(kind),
            )
            requester = EmbeddedStore.in_data_dir(run.by_role("requester")[0].data_dir)
            for response in crowd.responses.values():  # a pairwise task's two sides
                requester.put(response)
            post_content(run, content, None, batch=0, progress=progress)
            drive(run, progress, on_poll)
            summary = collect_kind_summary(run, crowd)
        finally:
            stop_all(nodes)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    report = options.out / "report.html"
    report.write_text(render_kind(summary), encoding="utf-8")
    progress.note(
        f"{summary['metric']}: consensus {summary['consensus']:.3f}, "
        f"{summary['baseline_name']} {summary['baseline']:.3f}; {summary['claims']} of "
        f"{summary['payouts']} payouts claimed"
    )
    if options.json:
        progress.document(summary, report)
    return report


def _build_nodes(
    options: DemoOptions,
    devnet: Devnet,
    network: Path,
    labelers: list[str],
    review_programs: Sequence[str] = (),
) -> list[NodeProcess]:
    """The nodes: ``labelers`` holds the annotator nodes' labeling programs, one each, and
    ``review_programs`` the review programs of the first validators (reviewers)."""
    info = devnet.info

    def settings(name: str, peers: list[str], **extra: str) -> dict[str, str]:
        account = info.account(name)
        return node_settings(
            rpc_url=info.rpc_url,
            deployment_file=info.deployment_file,
            keystore=account.keystore,
            password_file=info.password_file,
            peers=peers,
            interval=options.poll_interval,
            extra={"finality_depth": str(FINALITY_DEPTH), **extra},
        )

    requester = NodeProcess("requester", "requester", network / "requester", {})
    requester.settings = settings("requester", [])
    annotators = [
        NodeProcess(f"annotator-{i + 1}", "annotator", network / f"annotator-{i + 1}", {})
        for i in range(options.annotators)
    ]
    spammers = [
        NodeProcess(f"spammer-{i + 1}", "annotator", network / f"spammer-{i + 1}", {})
        for i in range(options.spammers)
    ]
    for node, labeler in zip(annotators, labelers, strict=True):
        node.settings = settings(
            node.name,
            [requester.url],
            labeler=labeler,
            labeler_batch=str(options.labeler_batch),
        )
    for i, node in enumerate(spammers):
        spec = options.spammer_labeler
        node.settings = settings(
            node.name,
            [requester.url],
            labeler=f"random:{1000 + i}" if spec == "random" else spec,
            labeler_batch=str(options.labeler_batch),
        )
    labellers = [*annotators, *spammers]
    validators = []
    for i in range(options.validators):
        lying = i >= options.validators - options.lying_validators
        node = NodeProcess(f"validator-{i + 1}", "validator", network / f"validator-{i + 1}", {})
        node.settings = settings(
            node.name,
            [requester.url, *(n.url for n in labellers)],
            finalize_early="false",
            adversary="wrong-root" if lying else "none",
            **(
                {"review": "true", "review_program": review_programs[i]}
                if i < len(review_programs)
                else {}
            ),
        )
        validators.append(node)
    # Everyone also learns the validators' gateways (where the result documents are).
    for node in labellers:
        node.settings["peers"] = json.dumps([requester.url, *(v.url for v in validators)])
    return [requester, *labellers, *validators]


def load_dataset_workers(answers_csv: Path) -> list[str]:
    """Workers of a cut ``answers.csv`` in the order :meth:`DemoDataset.write_answers` wrote."""
    seen: dict[str, None] = {}
    with answers_csv.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            seen.setdefault(line.rstrip("\n").split(",")[-2], None)
    return list(seen)


def _qualify(
    run: DemoRun,
    dataset: DemoDataset,
    count: int,
    progress: Progress,
    on_poll: PhaseHook | None,
) -> Qualification:
    """Run the gold-only qualification task on the first ``count`` items to its claims
    (:mod:`client.demo.qualified`): one seat per labelling node, every item gold."""
    options = run.options
    items = dataset.items[:count]
    content = build_task_content(
        # Public items, also when the main task is confidential: a qualification task's
        # gold is revealed, so it must hold nothing the requester keeps secret.
        [ItemSpec(id=item, data={"text": f"item {item}"}) for item in items],
        title=f"Qualification on {options.dataset}",
        instructions="Pick the class this item belongs to. Your answers are checked "
        "against an answer key: pass it to be admitted to the main task.",
        kind=TaskKind.CATEGORICAL,
        classes=dataset.classes,
    )
    gold = GoldSet.create({item: dataset.truth[item] for item in items})
    labellers = options.annotators + options.spammers
    gate = Gate(domain=QUALIFICATION_DOMAIN)
    post_content(
        run, content, gold, batch=count, progress=progress, gate=gate, redundancy=labellers
    )
    assert run.task is not None
    qualification = Qualification(task_id=run.task.task_id, items=items)
    drive(run, progress, on_poll)
    qualification.timings = {name: round(value, 2) for name, value in run.timings.items()}
    admitted = passed(run, qualification)
    progress.note(
        f"qualification task {qualification.task_id}: {len(admitted)} of {labellers} passed "
        f"({', '.join(admitted) or 'nobody'})"
    )
    if not admitted:
        raise DemoError("nobody passed the qualification task: the main task would have no seat")
    qualification.admitted = tuple(admitted)
    return qualification
